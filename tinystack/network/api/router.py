"""The network API's route table, plus the ``.json`` suffix upstream also accepts."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tinystack.common.api import errors
from tinystack.common.api.app import request_id
from tinystack.network.api import (
    address_scopes,
    agents,
    availability_zones,
    extensions,
    floatingips,
    network_ip_availability,
    networks,
    ports,
    quotas,
    rbac_policies,
    routers,
    security_group_rules,
    security_groups,
    subnetpools,
    subnets,
    tags,
    versions,
)

MODULES = (
    versions,
    extensions,
    networks,
    subnets,
    subnetpools,
    address_scopes,
    ports,
    routers,
    floatingips,
    security_groups,
    security_group_rules,
    quotas,
    rbac_policies,
    network_ip_availability,
    agents,
    availability_zones,
    tags,
)


LOG = logging.getLogger(__name__)


def include_routers(app: FastAPI) -> None:
    for module in MODULES:
        app.include_router(module.router)

    @app.exception_handler(IntegrityError)
    def _integrity_error(request: Request, exc: IntegrityError) -> Response:
        # A constraint caught what validation did not (e.g. a concurrent change): a conflict.
        LOG.warning(
            "constraint violation serving %s %s: %s", request.method, request.url.path, exc.orig
        )
        message = "The request conflicts with the current state of the resource."
        return errors.network(409, "Conflict", message, "Conflict", request_id(request))


class JsonSuffix:
    """Serve ``/v2.0/networks.json`` as ``/v2.0/networks`` (older clients add it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/v2.0/") and path.endswith(".json"):
            scope = dict(scope)
            scope["path"] = path[: -len(".json")]
            raw = scope.get("raw_path")
            if isinstance(raw, bytes) and raw.endswith(b".json"):
                scope["raw_path"] = raw[: -len(b".json")]
        await self.app(scope, receive, send)
