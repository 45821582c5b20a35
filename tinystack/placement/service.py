"""The Placement service: what the deployment needs to run it."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.routing import APIRoute
from oslo_config import cfg
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from tinystack.common.api import errors
from tinystack.common.api.app import create_app as create_base_app
from tinystack.common.api.app import request_id
from tinystack.common.api.microversion import MicroversionMiddleware
from tinystack.common.policy import Policy
from tinystack.common.service import Runtime, ServiceSpec
from tinystack.placement import policies
from tinystack.placement.api.deps import STATE_KEY
from tinystack.placement.api.microversion import MAX_VERSION, PLACEMENT, ErrorCodeMiddleware
from tinystack.placement.api.router import router
from tinystack.placement.conf import Options, register_opts
from tinystack.placement.services import resource_class, trait
from tinystack.placement.services.deps import Deps


class PlacementService(ServiceSpec):
    name = "placement"
    service_type = "placement"
    catalog_name = "placement"
    default_port = 8778
    url_suffix = ""
    migrations = "tinystack.placement.migrations"

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        register_opts(conf)

    def create_app(self, runtime: Runtime) -> ASGIApp:
        if runtime.db is None:
            raise RuntimeError("placement needs its database")
        self.register_opts(runtime.conf)
        opts = Options.from_conf(runtime.conf)
        deps = Deps(runtime.db, opts)
        resource_class.sync_standard(deps)
        trait.sync_standard(deps)
        policy_file = opts.policy_file or None
        app: FastAPI = create_base_app(
            title="tinystack placement",
            version=str(MAX_VERSION),
            style="placement",
            state={
                "token_codec": runtime.token_codec,
                "revocations": runtime.revocations,
                "policy": Policy(runtime.conf, policies.list_rules(), policy_file),
                STATE_KEY: deps,
            },
        )
        table: list[tuple[re.Pattern[str], set[str]]] = []
        app.include_router(router)
        for route in router.routes:
            if isinstance(route, APIRoute):
                table.append((route.path_regex, set(route.methods or ())))

        def method_not_allowed(request: Request, exc: Exception) -> Response:
            """405 naming every method of the path (the router names one route's only)."""
            path = request.url.path
            methods = set().union(*(m for regex, m in table if regex.match(path)))
            message = f"The method {request.method} is not allowed for this resource."
            response = errors.placement(405, "Method Not Allowed", message, None,
                                        request_id(request))  # fmt: skip
            response.headers["allow"] = ", ".join(sorted(methods))
            return response

        app.add_exception_handler(405, method_not_allowed)
        # Inside the request-id middleware (index 0), so version errors carry the id too.
        app.user_middleware.insert(1, Middleware(MicroversionMiddleware, PLACEMENT))
        app.user_middleware.insert(2, Middleware(ErrorCodeMiddleware))
        return app


SERVICE = PlacementService()
