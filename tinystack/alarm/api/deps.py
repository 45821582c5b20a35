"""FastAPI dependencies of the alarm handlers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from tinystack.alarm.services.deps import Deps
from tinystack.alarm.services.records import Caller
from tinystack.common.auth.context import RequestContext


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]


def caller(ctx: RequestContext) -> Caller:
    return Caller(ctx.user_id, ctx.project_id, ctx.is_admin, ctx.token, tuple(ctx.roles))
