"""THE alarm route table: Aodh's v2 API, every route on one line (method, path,
handler, the policy rules it checks, its status)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from tinystack.alarm.api import alarms as al
from tinystack.alarm.api import quotas as qu
from tinystack.alarm.api import versions
from tinystack.alarm.policies import alarms as rules
from tinystack.alarm.policies import quotas as quota_rules
from tinystack.common.api import openapi


class Route(NamedTuple):
    method: str
    path: str
    handler: Callable[..., Any]
    #: the rules checked (None: public)
    rules: tuple[str, ...] | None
    status: int = 200


A = "/v2/alarms"
ONE = A + "/{alarm_id}"
Q = "/v2/quotas"
PUBLIC = None

# fmt: off
ROUTES = (
    Route("GET",    "/",                      versions.root, PUBLIC),
    Route("GET",    "/v2/capabilities",       versions.capabilities, PUBLIC),
    Route("POST",   A,                        al.create_alarm, (rules.CREATE,), 201),
    Route("GET",    A,                        al.list_alarms, (rules.LIST, rules.LIST_ALL)),
    Route("GET",    ONE,                      al.show_alarm, (rules.GET,)),
    Route("PUT",    ONE,                      al.replace_alarm, (rules.UPDATE,)),
    Route("DELETE", ONE,                      al.delete_alarm, (rules.DELETE,), 204),
    Route("GET",    ONE + "/state",           al.get_state, (rules.GET_STATE,)),
    Route("PUT",    ONE + "/state",           al.set_state, (rules.UPDATE_STATE,)),
    Route("GET",    ONE + "/history",         al.alarm_history, (rules.HISTORY,)),
    Route("POST",   "/v2/query/alarms",       al.query_alarms, (rules.QUERY,)),
    Route("POST",   "/v2/query/alarms/history", al.query_history, (rules.QUERY_HISTORY,)),
    Route("GET",    Q,                        qu.show_quotas, (quota_rules.GET,)),
    Route("POST",   Q,                        qu.set_quotas, (quota_rules.UPDATE,), 201),
    Route("DELETE", Q + "/{project_id}",      qu.delete_quotas, (quota_rules.DELETE,), 204),
)
# fmt: on


def _tag(route: Route) -> str:
    if route.rules is None:
        return "versions"
    return "quotas" if route.path.startswith(Q) else "alarms"


def include_routes(app: FastAPI) -> None:
    for route in ROUTES:
        extra = openapi.policies(*route.rules) if route.rules is not None else dict(openapi.PUBLIC)
        app.add_api_route(
            route.path,
            route.handler,
            methods=[route.method],
            status_code=route.status,
            tags=[_tag(route)],
            openapi_extra=extra,
        )


class TrailingSlash:
    """aodhclient asks for ``/v2/capabilities/``: the slash is dropped before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            raw = scope.get("raw_path") or path.encode()
            scope = {**scope, "path": path.rstrip("/"), "raw_path": raw.rstrip(b"/")}
        await self.app(scope, receive, send)
