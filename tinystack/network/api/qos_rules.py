"""``/v2.0/qos/policies/{qos_policy_id}/<type>_rules`` and ``/v2.0/qos/rule-types``.

One set of handlers per rule type (``bandwidth_limit``, ``dscp_marking``,
``minimum_bandwidth``), made by ``RuleHandlers``: the body's envelope is
``<type>_rule``, the policy rules ``<action>_policy_<type>_rule`` with the policy's
owner as the target's ``project_id``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.auth.context import RequestContext
from tinystack.network.api.bodies import JsonBody, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import Enforcement, make_check, simple_check
from tinystack.network.api.list_params import fields_of, list_params
from tinystack.network.api.rendering import visible_item
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import BandwidthLimitRule, DscpMarkingRule, MinimumBandwidthRule
from tinystack.network.api.views import owner, qos_rule_view
from tinystack.network.exception import not_found
from tinystack.network.services.authz import Check
from tinystack.network.services.qos_rules import (
    DIRECTIONS,
    RULE_TYPES,
    VALID_DSCP_MARKS,
    QosRuleChanges,
    QosRuleTarget,
)
from tinystack.network.services.visibility import project_of

#: the one driver of this cloud's data plane, as ``/qos/rule-types/{type}`` reports it
DRIVER = "linuxbridge"


class RuleHandlers:
    """The five handlers of one rule type's sub-resource."""

    def __init__(self, rule_type: str, model: type[BaseModel]) -> None:
        self.rule_type = rule_type
        self.model = model
        self.envelope = Resource(
            singular=f"{rule_type}_rule",
            plural=f"{rule_type}_rules",
            filters=frozenset(("id", *RULE_TYPES[rule_type])),
        )
        #: what the policy rules are named after
        self.policy = Resource(
            singular=f"policy_{rule_type}_rule",
            plural=f"policy_{rule_type}_rules",
            filters=frozenset(),
        )

    def rule_names(self, action: str) -> tuple[str, ...]:
        return (f"{action}_policy_{self.rule_type}_rule",)

    def _check(
        self, ctx: RequestContext, action: str, values: dict[str, Any]
    ) -> Check[QosRuleTarget]:
        base = make_check(ctx, self.policy, action, values)

        def check(target: QosRuleTarget) -> None:
            view = qos_rule_view(target.rule) if target.rule is not None else {}
            base({**view, **values, **owner(target.project_id)})

        return check

    def _changes(self, body: Any) -> tuple[dict[str, Any], QosRuleChanges]:
        values = validate(self.model, unwrap(body, self.envelope, bulk=False)[0][0])
        changes = QosRuleChanges(
            direction=values.get("direction"),
            max_kbps=values.get("max_kbps"),
            max_burst_kbps=values.get("max_burst_kbps"),
            dscp_mark=values.get("dscp_mark"),
            min_kbps=values.get("min_kbps"),
            given=frozenset(values),
        )
        return values, changes

    def _one(
        self, ctx: RequestContext, item: dict[str, Any], status: int = 200, fields: Any = ()
    ) -> Response:
        seen = visible_item(Enforcement(ctx), self.policy, item, list(fields))
        if seen is None:
            raise not_found("qos_rule", str(item["id"]))
        return JSONResponse({self.envelope.singular: seen}, status_code=status)

    def make(self) -> dict[str, Any]:
        """The handlers by action (``list``, ``create``, ``show``, ``update``, ``delete``)."""
        rule_type = self.rule_type

        def list_rules(
            qos_policy_id: str, request: Request, ctx: ContextDep, deps: DepsDep
        ) -> Response:
            params = list_params(request, self.envelope)
            project_id, rules = deps.qos_rules.list_items(
                ctx, qos_policy_id, rule_type, params.query
            )
            enf = Enforcement(ctx)
            shown = [
                visible_item(enf, self.policy, qos_rule_view(r, project_id), params.fields)
                for r in rules
            ]
            return JSONResponse({self.envelope.plural: [s for s in shown if s is not None]})

        def create_rule(
            qos_policy_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
        ) -> Response:
            values, changes = self._changes(body)
            check = self._check(ctx, "create", values)
            # as upstream, a caller the rule refuses even on a policy of its own project
            # hears 403 before whether the policy exists (or is visible to it) is looked up
            check(QosRuleTarget(project_of(ctx)))
            created = deps.qos_rules.create(ctx, qos_policy_id, rule_type, changes, check)
            return JSONResponse({self.envelope.singular: _plain(created)}, status_code=201)

        def show_rule(
            qos_policy_id: str, rule_id: str, request: Request, ctx: ContextDep, deps: DepsDep
        ) -> Response:
            project_id, rule = deps.qos_rules.show(ctx, qos_policy_id, rule_type, rule_id)
            return self._one(ctx, qos_rule_view(rule, project_id), fields=fields_of(request))

        def update_rule(
            qos_policy_id: str, rule_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody
        ) -> Response:
            values, changes = self._changes(body)
            check = self._check(ctx, "update", values)
            updated = deps.qos_rules.update(ctx, qos_policy_id, rule_type, rule_id, changes, check)
            return JSONResponse({self.envelope.singular: _plain(updated)})

        def delete_rule(
            qos_policy_id: str, rule_id: str, ctx: ContextDep, deps: DepsDep
        ) -> Response:
            check = self._check(ctx, "delete", {})
            deps.qos_rules.delete(ctx, qos_policy_id, rule_type, rule_id, check)
            return Response(status_code=204)

        for fn in (list_rules, create_rule, show_rule, update_rule, delete_rule):
            fn.__name__ = fn.__qualname__ = fn.__name__.replace("rule", f"{rule_type}_rule")
        return {
            "list": list_rules,
            "create": create_rule,
            "show": show_rule,
            "update": update_rule,
            "delete": delete_rule,
        }


def _plain(rule: Any) -> dict[str, Any]:
    view = qos_rule_view(rule, "")
    view.pop("_policy", None)
    return view


BANDWIDTH_LIMIT = RuleHandlers("bandwidth_limit", BandwidthLimitRule)
DSCP_MARKING = RuleHandlers("dscp_marking", DscpMarkingRule)
MINIMUM_BANDWIDTH = RuleHandlers("minimum_bandwidth", MinimumBandwidthRule)
HANDLERS = (BANDWIDTH_LIMIT, DSCP_MARKING, MINIMUM_BANDWIDTH)


def _parameter(name: str) -> dict[str, Any]:
    values: Any = {"start": 0, "end": 2**31 - 1}
    if name == "direction":
        values = list(DIRECTIONS)
    elif name == "dscp_mark":
        values = list(VALID_DSCP_MARKS)
    kind = "range" if isinstance(values, dict) else "choices"
    return {"parameter_name": name, "parameter_type": kind, "parameter_values": values}


def list_rule_types(ctx: ContextDep) -> Response:
    # every user may list the types (clients pick what to create from it, as upstream's
    # regular users do); their drivers' details are for ``get_rule_type`` (admins)
    return JSONResponse({"rule_types": [{"type": t} for t in RULE_TYPES]})


def show_rule_type(rule_type: str, ctx: ContextDep) -> Response:
    simple_check(ctx, "get_rule_type")({})
    if rule_type not in RULE_TYPES:
        raise not_found("rule_type", rule_type)
    params = [_parameter(name) for name in RULE_TYPES[rule_type]]
    driver = {"name": DRIVER, "supported_parameters": params}
    return JSONResponse({"rule_type": {"type": rule_type, "drivers": [driver]}})
