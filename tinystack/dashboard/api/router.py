"""THE dashboard route table: the Skyline API server's routes under ``API``, the
pass-through to the cloud's services, then the console's files (every other GET).

A route names the dashboard rule it checks; the others need a valid session (or, for
login, config, SSO, regions and the console's files, nothing) and check no rule of their
own: the services the console then calls check theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import APIRouter
from pydantic import BaseModel

from tinystack.common.api.openapi import PUBLIC, policies, request_model
from tinystack.dashboard.api import console, contrib, extension, proxy, sessions, settings
from tinystack.dashboard.api import policies as pol
from tinystack.dashboard.api import schemas as s
from tinystack.dashboard.policies import extension as ext_p

API = "/api/openstack/skyline/api/v1"
PASS_THROUGH = "/api/openstack/{region}/{service}/{path:path}"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "COPY"]


class Route(NamedTuple):
    methods: tuple[str, ...]
    path: str
    handler: Callable[..., Any]
    #: the dashboard rule the handler checks (None: none of its own)
    rule: str | None
    body: type[BaseModel] | None = None

    def openapi(self) -> dict[str, Any]:
        extra = policies(self.rule) if self.rule else dict(PUBLIC)
        if self.body is not None:
            extra.update(request_model(self.body))
        return extra


G, P = ("GET",), ("POST",)
# fmt: off
ROUTES = (
    Route(P, API + "/login",                        sessions.login, None, s.Credential),
    Route(P, API + "/logout",                       sessions.logout, None),
    Route(G, API + "/profile",                      sessions.get_profile, None),
    Route(P, API + "/switch_project/{project_id}",  sessions.switch_project, None,
          s.SwitchProject),
    Route(G, API + "/config",                       settings.get_config, None),
    Route(G, API + "/sso",                          settings.get_sso, None),
    Route(G, API + "/settings",                     settings.list_settings, None),
    Route(G, API + "/setting/{key}",                settings.show_setting, None),
    Route(G, API + "/policies",                     pol.list_policies, None),
    Route(P, API + "/policies/check",               pol.check_policies, None, s.PoliciesRules),
    Route(G, API + "/contrib/domains",              contrib.list_domains, None),
    Route(G, API + "/contrib/regions",              contrib.list_regions, None),
    Route(G, API + "/contrib/keystone_endpoints",   contrib.list_keystone_endpoints, None),
    Route(G, API + "/extension/servers",            extension.list_servers, ext_p.ALL_PROJECTS),
    Route(G, API + "/extension/recycle_servers",    extension.list_recycle_servers,
          ext_p.ALL_PROJECTS),
    Route(G, API + "/extension/volumes",            extension.list_volumes, ext_p.ALL_PROJECTS),
    Route(G, API + "/extension/volume_snapshots",   extension.list_volume_snapshots,
          ext_p.ALL_PROJECTS),
    Route(G, API + "/extension/ports",              extension.list_ports, ext_p.ALL_PROJECTS),
    Route(G, API + "/extension/compute-services",   extension.list_compute_services,
          ext_p.COMPUTE_SERVICES),
    Route(tuple(ALL_METHODS), PASS_THROUGH,         proxy.forward, None),
    Route(G, "/",                                   console.serve, None),
    Route(G, "/{path:path}",                        console.serve, None),
)
# fmt: on

router = APIRouter()
for _route in ROUTES:
    router.add_api_route(
        _route.path,
        _route.handler,
        methods=list(_route.methods),
        tags=[_route.handler.__module__.rsplit(".", 1)[-1]],
        openapi_extra=_route.openapi(),
        include_in_schema=_route.handler is not console.serve,
    )
