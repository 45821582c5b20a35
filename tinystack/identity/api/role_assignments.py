"""``GET /v3/role_assignments``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import ValidationError
from tinystack.identity.api.deps import DepsDep
from tinystack.identity.api.views import base_url, render_assignment
from tinystack.identity.services import role_assignments
from tinystack.identity.services.role_assignments import Filters


def _flag(request: Request, name: str) -> bool:
    if name not in request.query_params:
        return False
    return request.query_params[name].lower() not in ("0", "false", "no", "off")


def _check_combinations(f: Filters, system: bool) -> None:
    """The filter pairs upstream refuses because they can only give an empty list."""
    if f.project_id and f.domain_id:
        raise ValidationError("Specify a domain or project, not both")
    if system and (f.domain_id or f.project_id):
        raise ValidationError("Specify system or domain or project, not more than one")
    if f.user_id and f.group_id:
        raise ValidationError("Specify a user or group, not both")
    if f.effective and f.group_id:
        raise ValidationError(
            "Combining effective and group filter will always result in an empty list."
        )
    if f.effective and f.inherited_only and f.domain_id:
        raise ValidationError(
            "Combining effective, domain and inherited filters will always result in an empty list."
        )


def list_role_assignments(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    q = request.query_params
    f = Filters(
        user_id=q.get("user.id"),
        group_id=q.get("group.id"),
        role_id=q.get("role.id"),
        project_id=q.get("scope.project.id"),
        domain_id=q.get("scope.domain.id"),
        system=q.get("scope.system") == "all",
        inherited_only=q.get("scope.OS-INHERIT:inherited_to") == "projects",
        effective=_flag(request, "effective"),
        include_subtree=_flag(request, "include_subtree"),
        include_names=_flag(request, "include_names"),
    )
    _check_combinations(f, q.get("scope.system") is not None)
    listing = role_assignments.list_assignments(deps, ctx, f)
    base = base_url(request)
    return {
        "role_assignments": [render_assignment(r, listing.names, base) for r in listing.rows],
        "links": {"self": str(request.url), "previous": None, "next": None},
    }
