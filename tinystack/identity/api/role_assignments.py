"""``GET /v3/role_assignments``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import ValidationError
from tinystack.identity.api.deps import DepsDep, authorize
from tinystack.identity.api.views import base_url, render_assignment
from tinystack.identity.services import projects, role_assignments
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
    if f.include_subtree:
        # As upstream: the tree's root project is the target, for domain-scoped readers.
        target: dict[str, Any] = {}
        if f.project_id:
            project = projects.show(deps, f.project_id)
            target = {
                "target": {
                    "project": {"id": project.id, "domain_id": project.domain_id},
                    "domain_id": project.domain_id,
                }
            }
        authorize(ctx, "identity:list_role_assignments_for_tree", target)
        if not f.project_id:
            raise ValidationError(
                "scope.project.id must be specified if include_subtree is also specified"
            )
    else:
        # A domain-scoped token reads its own domain's assignments; nobody else has a
        # target domain, so only system readers and admins pass the reader check.
        target = {"target": {"domain_id": ctx.domain_id}} if ctx.domain_id else {}
        authorize(ctx, "identity:list_role_assignments", target)
        f = replace(f, within_domain=ctx.domain_id)
    listing = role_assignments.list_assignments(deps, f)
    base = base_url(request)
    return {
        "role_assignments": [render_assignment(r, listing.names, base) for r in listing.rows],
        "links": {"self": str(request.url), "previous": None, "next": None},
    }
