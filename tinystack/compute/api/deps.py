"""FastAPI dependencies of the compute handlers: the request context, ``Deps``, the version."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from tinystack.common.api.deps import ContextDep
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.context import CallContext
from tinystack.compute.api.microversion import URL_PROJECT_KEY, Version, VersionDep
from tinystack.compute.services.deps import Deps

__all__ = ["ContextDep", "DepsDep", "Version", "VersionDep", "call_context"]


def _deps(request: Request, ctx: ContextDep) -> Deps:
    url_project = getattr(request.state, URL_PROJECT_KEY, None)
    if url_project is not None and url_project != ctx.project_id:
        raise BadRequest(
            f"Malformed request URL: URL's project_id '{url_project}' doesn't match "
            f"Context's project_id '{ctx.project_id}'"
        )
    deps: Deps = request.app.state.compute
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]


def call_context(request: Request, ctx: RequestContext) -> CallContext:
    del request
    return CallContext.from_request(ctx)
