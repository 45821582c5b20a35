"""``/v2.0/fwaas/firewall_policies``: FWaaS v2 policies and their ``insert_rule`` and
``remove_rule`` actions (which answer with the policy, not enveloped, as upstream)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, check_uuids, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import (
    Enforcement,
    authorize_create,
    make_check,
    on_view,
    simple_check,
)
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one, visible_item
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import (
    FirewallPolicyCreate,
    FirewallPolicyUpdate,
    FirewallRuleInsertion,
    owner,
)
from tinystack.network.api.views import owner as owner_view
from tinystack.network.exception import http_bad_request
from tinystack.network.services.firewall_policies import FirewallPolicyChanges, RuleInsertion
from tinystack.network.services.records import FirewallPolicyRecord

FIREWALL_POLICY = Resource(
    singular="firewall_policy",
    plural="firewall_policies",
    path="fwaas/firewall_policies",
    filters=frozenset("id name description project_id tenant_id shared audited".split()),
    sort_keys=frozenset("id name project_id tenant_id".split()),
    defaults={"name": "", "description": "", "shared": False, "audited": False},
)
_UPDATABLE = ("name", "description", "shared", "audited", "firewall_rules")


def firewall_policy_view(policy: FirewallPolicyRecord) -> dict[str, Any]:
    return {
        "id": policy.id,
        "name": policy.name,
        "description": policy.description,
        **owner_view(policy.project_id),
        "shared": policy.shared,
        "audited": policy.audited,
        "firewall_rules": list(policy.firewall_rules),
    }


def _changes(values: dict[str, Any]) -> FirewallPolicyChanges:
    rules = values.get("firewall_rules")
    check_uuids("firewall_rules", rules)
    return FirewallPolicyChanges(
        project_id=values.get("project_id"),
        name=values.get("name"),
        description=values.get("description"),
        shared=values.get("shared"),
        audited=values.get("audited"),
        firewall_rules=None if rules is None else tuple(rules),
        given=frozenset(k for k in _UPDATABLE if k in values),
    )


def list_firewall_policies(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, FIREWALL_POLICY, max_limit(deps))
    items = [firewall_policy_view(p) for p in deps.firewall_policies.list_items(ctx, params.query)]
    return render_list(request, ctx, FIREWALL_POLICY, items, params)


def create_firewall_policy(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(FirewallPolicyCreate, unwrap(body, FIREWALL_POLICY, bulk=False)[0][0]))
    authorize_create(ctx, FIREWALL_POLICY, [values])
    created = firewall_policy_view(deps.firewall_policies.create(ctx, _changes(values)))
    return render_one(ctx, FIREWALL_POLICY, created, 201, hide_missing=False)


def show_firewall_policy(
    firewall_policy_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    item = firewall_policy_view(deps.firewall_policies.show(ctx, firewall_policy_id))
    return render_one(ctx, FIREWALL_POLICY, item, fields=fields_of(request))


def update_firewall_policy(
    firewall_policy_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(FirewallPolicyUpdate, unwrap(body, FIREWALL_POLICY, bulk=False)[0][0])
    check = on_view(make_check(ctx, FIREWALL_POLICY, "update", values), firewall_policy_view)
    updated = deps.firewall_policies.update(ctx, firewall_policy_id, _changes(values), check)
    return render_one(ctx, FIREWALL_POLICY, firewall_policy_view(updated), hide_missing=False)


def delete_firewall_policy(firewall_policy_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    check = on_view(make_check(ctx, FIREWALL_POLICY, "delete", {}), firewall_policy_view)
    deps.firewall_policies.delete(ctx, firewall_policy_id, check)
    return Response(status_code=204)


def _insertion(body: Any) -> RuleInsertion:
    if not isinstance(body, dict):
        raise http_bad_request("Invalid input: the body must be a JSON object")
    known = {k: body[k] for k in ("firewall_rule_id", "insert_before", "insert_after") if k in body}
    values = validate(FirewallRuleInsertion, known)
    return RuleInsertion(**values)


def _acted(ctx: ContextDep, policy: FirewallPolicyRecord) -> Response:
    view = firewall_policy_view(policy)
    seen = visible_item(Enforcement(ctx), FIREWALL_POLICY, view, [])
    return JSONResponse(seen if seen is not None else view)


def insert_rule(
    firewall_policy_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    check = on_view(simple_check(ctx, "insert_rule"), firewall_policy_view)
    policy = deps.firewall_policies.insert_rule(ctx, firewall_policy_id, _insertion(body), check)
    return _acted(ctx, policy)


def remove_rule(
    firewall_policy_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    check = on_view(simple_check(ctx, "remove_rule"), firewall_policy_view)
    policy = deps.firewall_policies.remove_rule(ctx, firewall_policy_id, _insertion(body), check)
    return _acted(ctx, policy)
