"""FastAPI dependencies of the volume handlers: the request context, ``Deps``, the
version, and the RPC call context."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from tinystack.common.api.deps import ContextDep
from tinystack.common.api.microversion import declared
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, MethodNotAllowed, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.volume.api.microversion import URL_PROJECT_KEY, VOLUME, Version, VersionDep
from tinystack.volume.services.deps import Deps

__all__ = [
    "ContextDep", "DepsDep", "Version", "VersionDep", "call_context", "check_route_version",
    "check_url_project",
    "url_project",
]  # fmt: skip


def check_url_project(request: Request, ctx: ContextDep) -> None:
    """Every ``/v3`` route's dependency: a project id in the URL is the token's."""
    named = url_project(request)
    if named is not None and named != ctx.project_id:
        raise BadRequest("Malformed request url")


def check_route_version(request: Request) -> None:
    """Every ``/v3`` route's dependency: a route declared ``since(...)`` is absent outside
    its versions (404, or 405 where it says so)."""
    bounds = declared(request.scope.get("route"))
    if bounds is None:
        return
    version = VOLUME.of_scope(request.scope)
    if version not in bounds:
        if bounds.absent == 405:
            raise MethodNotAllowed("The method is not allowed at this version.")
        raise NotFound(f"API version {version} is not supported on this method.")


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.volume
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]


def url_project(request: Request) -> str | None:
    """The project id the URL named (``/v3/{project_id}/...``), if any."""
    found = request.scope.get("state", {}).get(URL_PROJECT_KEY)
    return found if isinstance(found, str) else None


def call_context(ctx: RequestContext) -> CallContext:
    """The caller as the workers see it."""
    return CallContext.from_request(ctx)
