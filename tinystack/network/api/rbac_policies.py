"""``/v2.0/rbac-policies``: access_as_shared and access_as_external grants."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import RbacCreate, RbacUpdate, owner

RBAC_POLICY = Resource(
    singular="rbac_policy",
    plural="rbac_policies",
    path="rbac-policies",
    filters=frozenset(
        """
            id project_id tenant_id object_type object_id action target_tenant target_project
            """.split()
    ),
)


def list_rbac_policies(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, RBAC_POLICY, max_limit(deps))
    items = deps.rbac_policies.list_items(ctx, params.query)
    return render_list(request, ctx, RBAC_POLICY, items, params)


def create_rbac_policy(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(RbacCreate, unwrap(body, RBAC_POLICY, bulk=False)[0][0]))
    created = deps.rbac_policies.create(ctx, values, make_check(ctx, RBAC_POLICY, "create"))
    return render_one(ctx, RBAC_POLICY, created, 201, hide_missing=False)


def show_rbac_policy(policy_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    item = deps.rbac_policies.show(ctx, policy_id)
    return render_one(ctx, RBAC_POLICY, item, fields=fields_of(request))


def update_rbac_policy(policy_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = validate(RbacUpdate, unwrap(body, RBAC_POLICY, bulk=False)[0][0])
    check = make_check(ctx, RBAC_POLICY, "update", values)
    return render_one(ctx, RBAC_POLICY, deps.rbac_policies.update(ctx, policy_id, values, check))


def delete_rbac_policy(policy_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    deps.rbac_policies.delete(ctx, policy_id, make_check(ctx, RBAC_POLICY, "delete", {}))
    return Response(status_code=204)
