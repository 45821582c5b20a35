"""``/v2.0/qos/policies``: QoS policies (their rules are ``qos_rules``)."""

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
from tinystack.network.api.schemas import QosPolicyCreate, QosPolicyUpdate, owner
from tinystack.network.api.views import qos_policy_view
from tinystack.network.services.qos_policies import QosPolicyChanges, QosPolicySpec

POLICY = Resource(
    singular="policy",
    plural="policies",
    path="qos/policies",
    filters=frozenset(
        """
            id name project_id tenant_id shared is_default description revision_number
            created_at updated_at
            """.split()
    ),
    sort_keys=frozenset("id name project_id tenant_id is_default".split()),
    defaults={"shared": False, "is_default": False, "tags": []},
)
_UPDATABLE = ("name", "description", "shared", "is_default")


def list_policies(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, POLICY, max_limit(deps))
    items = [qos_policy_view(p) for p in deps.qos_policies.list_items(ctx, params.query)]
    return render_list(request, ctx, POLICY, items, params)


def create_policy(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(QosPolicyCreate, unwrap(body, POLICY, bulk=False)[0][0]))
    authorize_create(ctx, POLICY, [values])
    spec = QosPolicySpec(
        project_id=values.get("project_id"),
        name=values.get("name"),
        description=values.get("description"),
        shared=bool(values.get("shared")),
        is_default=bool(values.get("is_default")),
        tags=tuple(values.get("tags") or ()),
    )
    created = qos_policy_view(deps.qos_policies.create(ctx, spec))
    return render_one(ctx, POLICY, created, 201, hide_missing=False)


def show_policy(qos_policy_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    item = qos_policy_view(deps.qos_policies.show(ctx, qos_policy_id))
    return render_one(ctx, POLICY, item, fields=fields_of(request))


def update_policy(
    qos_policy_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(QosPolicyUpdate, unwrap(body, POLICY, bulk=False)[0][0])
    check = on_view(make_check(ctx, POLICY, "update", values), qos_policy_view)
    changes = QosPolicyChanges(
        name=values.get("name"),
        description=values.get("description"),
        shared=values.get("shared"),
        is_default=values.get("is_default"),
        given=frozenset(k for k in _UPDATABLE if k in values),
    )
    updated = deps.qos_policies.update(ctx, qos_policy_id, changes, check, revision(request))
    return render_one(ctx, POLICY, qos_policy_view(updated), hide_missing=False)


def delete_policy(qos_policy_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    check = on_view(make_check(ctx, POLICY, "delete", {}), qos_policy_view)
    deps.qos_policies.delete(ctx, qos_policy_id, check, revision(request))
    return Response(status_code=204)
