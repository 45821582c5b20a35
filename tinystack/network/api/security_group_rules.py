"""``/v2.0/security-group-rules``: rules are created and deleted, never updated."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check, on_view
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_many, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import RuleCreate, owner
from tinystack.network.api.views import owner as owner_attrs
from tinystack.network.api.views import security_group_rule_view
from tinystack.network.services.records import SecurityGroupRuleRecord
from tinystack.network.services.security_group_rules import RuleSpec, RuleTarget

RULE = Resource(
    singular="security_group_rule",
    plural="security_group_rules",
    path="security-group-rules",
    filters=frozenset(
        """
            id security_group_id project_id tenant_id direction ethertype protocol
            port_range_min port_range_max remote_ip_prefix remote_group_id description
            revision_number normalized_cidr belongs_to_default_sg created_at updated_at
            """.split()
    ),
    defaults={"ethertype": "IPv4"},
)


def _policy_target(rule: SecurityGroupRuleRecord) -> dict[str, Any]:
    """The rule's view with its group's owner, as the delete rule reads it."""
    view = security_group_rule_view(rule)
    return {**view, **view["_policy"]}


def list_security_group_rules(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, RULE, max_limit(deps))
    rules = deps.security_group_rules.list_items(ctx, params.query)
    items = [security_group_rule_view(r) for r in rules]
    return render_list(request, ctx, RULE, items, params)


def create_security_group_rule(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    items, bulk = unwrap(body, RULE)
    values = [owner(validate(RuleCreate, item)) for item in items]
    base = make_check(ctx, RULE, "create")

    def check(target: RuleTarget) -> None:
        extra = {"security_group:project_id": target.group_project_id}
        base({**values[target.index], **owner_attrs(target.project_id), **extra})

    specs = [
        RuleSpec(
            security_group_id=v["security_group_id"],
            project_id=v.get("project_id"),
            direction=v.get("direction"),
            ethertype=v.get("ethertype"),
            protocol=v.get("protocol"),
            port_range_min=v.get("port_range_min"),
            port_range_max=v.get("port_range_max"),
            remote_ip_prefix=v.get("remote_ip_prefix"),
            remote_group_id=v.get("remote_group_id"),
            description=v.get("description"),
        )
        for v in values
    ]
    rules = deps.security_group_rules.create_bulk(ctx, specs, check)
    created = [security_group_rule_view(r) for r in rules]
    if bulk:
        return render_many(ctx, RULE, created)
    return render_one(ctx, RULE, created[0], 201, hide_missing=False)


def show_security_group_rule(
    rule_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    item = security_group_rule_view(deps.security_group_rules.show(ctx, rule_id))
    return render_one(ctx, RULE, item, fields=fields_of(request))


def delete_security_group_rule(rule_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    check = make_check(ctx, RULE, "delete", {})
    deps.security_group_rules.delete(ctx, rule_id, on_view(check, _policy_target))
    return Response(status_code=204)
