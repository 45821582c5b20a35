"""``/v2.0/rbac-policies``: access_as_shared and access_as_external grants."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import authorize_create, make_check, on_view
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import RbacCreate, RbacUpdate, owner
from tinystack.network.api.views import rbac_policy_view
from tinystack.network.services.rbac_policies import RbacPolicySpec

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
    items = [rbac_policy_view(p) for p in deps.rbac_policies.list_items(ctx, params.query)]
    return render_list(request, ctx, RBAC_POLICY, items, params)


def create_rbac_policy(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(RbacCreate, unwrap(body, RBAC_POLICY, bulk=False)[0][0]))
    authorize_create(ctx, RBAC_POLICY, [values])
    spec = RbacPolicySpec(
        project_id=values.get("project_id"),
        object_type=values["object_type"],
        object_id=values["object_id"],
        action=values["action"],
        target_project=values.get("target_tenant", values.get("target_project")),
    )
    created = rbac_policy_view(deps.rbac_policies.create(ctx, spec))
    return render_one(ctx, RBAC_POLICY, created, 201, hide_missing=False)


def show_rbac_policy(policy_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    item = rbac_policy_view(deps.rbac_policies.show(ctx, policy_id))
    return render_one(ctx, RBAC_POLICY, item, fields=fields_of(request))


def update_rbac_policy(policy_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = validate(RbacUpdate, unwrap(body, RBAC_POLICY, bulk=False)[0][0])
    check = on_view(make_check(ctx, RBAC_POLICY, "update", values), rbac_policy_view)
    target = values.get("target_tenant", values.get("target_project"))
    updated = deps.rbac_policies.update(ctx, policy_id, target, check)
    return render_one(ctx, RBAC_POLICY, rbac_policy_view(updated))


def delete_rbac_policy(policy_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    check = on_view(make_check(ctx, RBAC_POLICY, "delete", {}), rbac_policy_view)
    deps.rbac_policies.delete(ctx, policy_id, check)
    return Response(status_code=204)
