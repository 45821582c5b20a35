"""``/v3/users/{user_id}/access_rules``: the access rules of a user's application credentials."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.deps import DepsDep, authorize
from tinystack.identity.api.views import collection, render_access_rule
from tinystack.identity.services import access_rules


def _target(user_id: str) -> dict[str, Any]:
    return {"target": {"user": {"id": user_id}}}


def list_rules(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    user_id: str,
    service: str | None = None,
    path: str | None = None,
    method: str | None = None,
) -> dict[str, Any]:
    authorize(ctx, "identity:list_access_rules", _target(user_id))
    items = access_rules.list_for_user(deps, user_id, service, path, method)
    return collection(
        request, "access_rules", items, lambda r, rule: render_access_rule(r, user_id, rule)
    )


def show_rule(
    request: Request, ctx: ContextDep, deps: DepsDep, user_id: str, access_rule_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_access_rule", _target(user_id))
    rule = access_rules.show(deps, user_id, access_rule_id)
    return {"access_rule": render_access_rule(request, user_id, rule)}


def delete_rule(ctx: ContextDep, deps: DepsDep, user_id: str, access_rule_id: str) -> Response:
    authorize(ctx, "identity:delete_access_rule", _target(user_id))
    access_rules.delete_rule(deps, user_id, access_rule_id)
    return Response(status_code=204)
