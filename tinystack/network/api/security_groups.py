"""``/v2.0/security-groups``: groups, with their rules embedded."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import SecurityGroupCreate, SecurityGroupUpdate, owner

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
    items = deps.security_groups.list_items(ctx, params.query)
    return render_list(request, ctx, SECURITY_GROUP, items, params)


def create_security_group(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(SecurityGroupCreate, unwrap(body, SECURITY_GROUP, bulk=False)[0][0]))
    check = make_check(ctx, SECURITY_GROUP, "create")
    created = deps.security_groups.create(ctx, values, check)
    return render_one(ctx, SECURITY_GROUP, created, 201, hide_missing=False)


def show_security_group(
    group_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    item = deps.security_groups.show(ctx, group_id)
    return render_one(ctx, SECURITY_GROUP, item, fields=fields_of(request))


def update_security_group(
    group_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(SecurityGroupUpdate, unwrap(body, SECURITY_GROUP, bulk=False)[0][0])
    check = make_check(ctx, SECURITY_GROUP, "update", values)
    updated = deps.security_groups.update(ctx, group_id, values, check, revision(request))
    return render_one(ctx, SECURITY_GROUP, updated, hide_missing=False)


def delete_security_group(
    group_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    check = make_check(ctx, SECURITY_GROUP, "delete", {})
    deps.security_groups.delete(ctx, group_id, check, revision(request))
    return Response(status_code=204)
