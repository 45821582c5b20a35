"""FastAPI dependencies and handler helpers of the identity API: ``DepsDep``, authorize."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request

from tinystack.common.auth.context import RequestContext
from tinystack.identity.services.deps import Deps


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.identity
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    return value


def authorize(ctx: RequestContext, rule: str, target: dict[str, Any] | None = None) -> None:
    """Enforce ``rule`` on ``target``, leaving out attributes that are None.

    oslo.policy renders a None target value as the string "None", which equals the
    rendering of a credential the token does not have: ``domain_id:%(target.domain_id)s``
    would let every project-scoped token through when the target has no domain. A
    missing attribute makes such a check fail, as upstream's targets do.
    """
    ctx.can(rule, _prune(target or {}))


def domain_target(ctx: RequestContext) -> dict[str, Any]:
    """The target of a list call: the caller's domain when the token is domain-scoped."""
    return {"target": {"domain_id": ctx.domain_id}} if ctx.domain_id else {}
