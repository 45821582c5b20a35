"""``/v2.0/security-group-rules``: rules are created and deleted, never updated."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_many, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import RuleCreate, owner

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


def list_security_group_rules(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, RULE, max_limit(deps))
    items = deps.security_group_rules.list_items(ctx, params.query)
    return render_list(request, ctx, RULE, items, params)


def create_security_group_rule(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    items, bulk = unwrap(body, RULE)
    values = [owner(validate(RuleCreate, item)) for item in items]
    created = deps.security_group_rules.create_bulk(ctx, values, make_check(ctx, RULE, "create"))
    if bulk:
        return render_many(ctx, RULE, created)
    return render_one(ctx, RULE, created[0], 201, hide_missing=False)


def show_security_group_rule(
    rule_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    item = deps.security_group_rules.show(ctx, rule_id)
    return render_one(ctx, RULE, item, fields=fields_of(request))


def delete_security_group_rule(rule_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    deps.security_group_rules.delete(ctx, rule_id, make_check(ctx, RULE, "delete", {}))
    return Response(status_code=204)
