"""``/v2.0/security-groups``: groups, with their rules embedded."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import authorize_create, make_check, on_view
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import SecurityGroupCreate, SecurityGroupUpdate, owner
from tinystack.network.api.views import security_group_view
from tinystack.network.services.security_groups import SecurityGroupChanges, SecurityGroupSpec

SECURITY_GROUP = Resource(
    singular="security_group",
    plural="security_groups",
    path="security-groups",
    filters=frozenset(
        """
            id name project_id tenant_id description stateful shared revision_number
            created_at updated_at
            """.split()
    ),
    sort_keys=frozenset(
        {"id", "name", "project_id", "tenant_id", "created_at", "updated_at", "revision_number"}
    ),
    defaults={"stateful": True, "tags": []},
)


def list_security_groups(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, SECURITY_GROUP, max_limit(deps))
    items = [security_group_view(g) for g in deps.security_groups.list_items(ctx, params.query)]
    return render_list(request, ctx, SECURITY_GROUP, items, params)


def create_security_group(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(SecurityGroupCreate, unwrap(body, SECURITY_GROUP, bulk=False)[0][0]))
    authorize_create(ctx, SECURITY_GROUP, [values])
    spec = SecurityGroupSpec(
        project_id=values.get("project_id"),
        name=values.get("name"),
        description=values.get("description"),
        stateful=values.get("stateful"),
        tags=tuple(values.get("tags") or ()),
    )
    created = security_group_view(deps.security_groups.create(ctx, spec))
    return render_one(ctx, SECURITY_GROUP, created, 201, hide_missing=False)


def show_security_group(
    group_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    item = security_group_view(deps.security_groups.show(ctx, group_id))
    return render_one(ctx, SECURITY_GROUP, item, fields=fields_of(request))


def update_security_group(
    group_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(SecurityGroupUpdate, unwrap(body, SECURITY_GROUP, bulk=False)[0][0])
    check = on_view(make_check(ctx, SECURITY_GROUP, "update", values), security_group_view)
    changes = SecurityGroupChanges(
        name=values.get("name"),
        description=values.get("description"),
        stateful=values.get("stateful"),
        given=frozenset(k for k in ("name", "description", "stateful") if k in values),
    )
    updated = deps.security_groups.update(ctx, group_id, changes, check, revision(request))
    return render_one(ctx, SECURITY_GROUP, security_group_view(updated), hide_missing=False)


def delete_security_group(
    group_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    check = on_view(make_check(ctx, SECURITY_GROUP, "delete", {}), security_group_view)
    deps.security_groups.delete(ctx, group_id, check, revision(request))
    return Response(status_code=204)
