"""``/v2.0/metering/metering-label-rules``: what metering labels count (no update, as
upstream)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check, on_view
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import MeteringLabelRuleCreate, owner
from tinystack.network.api.views import owner as owner_view
from tinystack.network.services.metering_label_rules import MeteringLabelRuleSpec
from tinystack.network.services.records import MeteringLabelRuleRecord

METERING_LABEL_RULE = Resource(
    singular="metering_label_rule",
    plural="metering_label_rules",
    path="metering/metering-label-rules",
    filters=frozenset(
        """
        id project_id tenant_id metering_label_id direction remote_ip_prefix
        source_ip_prefix destination_ip_prefix excluded
        """.split()
    ),
    sort_keys=frozenset("id project_id tenant_id metering_label_id direction".split()),
    defaults={
        "remote_ip_prefix": None,
        "source_ip_prefix": None,
        "destination_ip_prefix": None,
        "excluded": False,
    },
)


def metering_label_rule_view(rule: MeteringLabelRuleRecord) -> dict[str, Any]:
    return {
        "id": rule.id,
        "metering_label_id": rule.metering_label_id,
        "direction": rule.direction,
        "remote_ip_prefix": rule.remote_ip_prefix,
        "source_ip_prefix": rule.source_ip_prefix,
        "destination_ip_prefix": rule.destination_ip_prefix,
        "excluded": rule.excluded,
        **owner_view(rule.project_id),
    }


def list_metering_label_rules(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, METERING_LABEL_RULE, max_limit(deps))
    rules = deps.metering_label_rules.list_items(ctx, params.query)
    items = [metering_label_rule_view(rule) for rule in rules]
    return render_list(request, ctx, METERING_LABEL_RULE, items, params)


def create_metering_label_rule(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    item = unwrap(body, METERING_LABEL_RULE, bulk=False)[0][0]
    values = owner(validate(MeteringLabelRuleCreate, item))
    spec = MeteringLabelRuleSpec(
        metering_label_id=values["metering_label_id"],
        direction=values["direction"],
        remote_ip_prefix=values.get("remote_ip_prefix"),
        source_ip_prefix=values.get("source_ip_prefix"),
        destination_ip_prefix=values.get("destination_ip_prefix"),
        excluded=bool(values.get("excluded")),
    )
    # the target is the rule in its label's project (the service knows the label)
    check = on_view(make_check(ctx, METERING_LABEL_RULE, "create"), metering_label_rule_view)
    created = deps.metering_label_rules.create(ctx, spec, check)
    view = metering_label_rule_view(created)
    return render_one(ctx, METERING_LABEL_RULE, view, 201, hide_missing=False)


def show_metering_label_rule(
    metering_label_rule_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    item = metering_label_rule_view(deps.metering_label_rules.show(ctx, metering_label_rule_id))
    return render_one(ctx, METERING_LABEL_RULE, item, fields=fields_of(request))


def delete_metering_label_rule(
    metering_label_rule_id: str, ctx: ContextDep, deps: DepsDep
) -> Response:
    check = on_view(make_check(ctx, METERING_LABEL_RULE, "delete", {}), metering_label_rule_view)
    deps.metering_label_rules.delete(ctx, metering_label_rule_id, check)
    return Response(status_code=204)
