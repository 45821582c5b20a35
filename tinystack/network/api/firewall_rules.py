"""``/v2.0/fwaas/firewall_rules``: FWaaS v2 rules."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import authorize_create, make_check, on_view
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import FirewallRuleCreate, FirewallRuleUpdate, owner
from tinystack.network.api.views import owner as owner_view
from tinystack.network.services.firewall_rules import FirewallRuleChanges
from tinystack.network.services.records import FirewallRuleRecord

FIREWALL_RULE = Resource(
    singular="firewall_rule",
    plural="firewall_rules",
    path="fwaas/firewall_rules",
    filters=frozenset(
        """
        id name description project_id tenant_id shared protocol ip_version action enabled
        source_ip_address destination_ip_address
        """.split()
    ),
    sort_keys=frozenset("id name project_id tenant_id action".split()),
    defaults={
        "name": "",
        "description": "",
        "shared": False,
        "protocol": None,
        "ip_version": 4,
        "source_ip_address": None,
        "destination_ip_address": None,
        "source_port": None,
        "destination_port": None,
        "action": "deny",
        "enabled": True,
    },
)

_ATTRIBUTES = frozenset(f.name for f in fields(FirewallRuleChanges)) - {"project_id", "given"}


def firewall_rule_view(rule: FirewallRuleRecord) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "description": rule.description,
        **owner_view(rule.project_id),
        "shared": rule.shared,
        "protocol": rule.protocol,
        "ip_version": rule.ip_version,
        "source_ip_address": rule.source_ip_address,
        "destination_ip_address": rule.destination_ip_address,
        "source_port": rule.source_port,
        "destination_port": rule.destination_port,
        "action": rule.action,
        "enabled": rule.enabled,
        "firewall_policy_id": list(rule.firewall_policy_ids) or None,
    }


def _changes(values: dict[str, Any]) -> FirewallRuleChanges:
    given = {k: v for k, v in values.items() if k in _ATTRIBUTES}
    return FirewallRuleChanges(project_id=values.get("project_id"), **given, given=frozenset(given))


def list_firewall_rules(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, FIREWALL_RULE, max_limit(deps))
    items = [firewall_rule_view(r) for r in deps.firewall_rules.list_items(ctx, params.query)]
    return render_list(request, ctx, FIREWALL_RULE, items, params)


def create_firewall_rule(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(FirewallRuleCreate, unwrap(body, FIREWALL_RULE, bulk=False)[0][0]))
    authorize_create(ctx, FIREWALL_RULE, [values])
    created = firewall_rule_view(deps.firewall_rules.create(ctx, _changes(values)))
    return render_one(ctx, FIREWALL_RULE, created, 201, hide_missing=False)


def show_firewall_rule(
    firewall_rule_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    item = firewall_rule_view(deps.firewall_rules.show(ctx, firewall_rule_id))
    return render_one(ctx, FIREWALL_RULE, item, fields=fields_of(request))


def update_firewall_rule(
    firewall_rule_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(FirewallRuleUpdate, unwrap(body, FIREWALL_RULE, bulk=False)[0][0])
    check = on_view(make_check(ctx, FIREWALL_RULE, "update", values), firewall_rule_view)
    updated = deps.firewall_rules.update(ctx, firewall_rule_id, _changes(values), check)
    return render_one(ctx, FIREWALL_RULE, firewall_rule_view(updated), hide_missing=False)


def delete_firewall_rule(firewall_rule_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    check = on_view(make_check(ctx, FIREWALL_RULE, "delete", {}), firewall_rule_view)
    deps.firewall_rules.delete(ctx, firewall_rule_id, check)
    return Response(status_code=204)
