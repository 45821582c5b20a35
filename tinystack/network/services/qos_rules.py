"""QoS policy rules: ``bandwidth_limit``, ``dscp_marking`` and ``minimum_bandwidth``.

Rules are sub-resources of a policy (``/qos/policies/{id}/<type>_rules``); a policy holds
at most one rule per (type, direction). Every change bumps the policy's revision and
re-wires the ports the policy reaches (``QosPolicies.notify_users``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import new_uuid
from tinystack.network import models
from tinystack.network.exception import conflict, invalid_input, not_found
from tinystack.network.services import listing
from tinystack.network.services._rows import visible_policy
from tinystack.network.services.authz import Check
from tinystack.network.services.qos_policies import rule_record
from tinystack.network.services.records import QosRuleRecord
from tinystack.network.services.standard_attrs import bump

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

T = TypeVar("T")

BANDWIDTH_LIMIT = "bandwidth_limit"
DSCP_MARKING = "dscp_marking"
MINIMUM_BANDWIDTH = "minimum_bandwidth"
#: rule type -> its parameters (what ``/qos/rule-types/{type}`` reports)
RULE_TYPES: dict[str, tuple[str, ...]] = {
    BANDWIDTH_LIMIT: ("max_kbps", "max_burst_kbps", "direction"),
    DSCP_MARKING: ("dscp_mark",),
    MINIMUM_BANDWIDTH: ("min_kbps", "direction"),
}
DIRECTIONS = ("egress", "ingress")
VALID_DSCP_MARKS = (
    0,
    8,
    10,
    12,
    14,
    16,
    18,
    20,
    22,
    24,
    26,
    28,
    30,
    32,
    34,
    36,
    38,
    40,
    46,
    48,
    56,
)
SPEC = listing.ListSpec(
    resource="rule",
    model=models.QosRule,
    columns={
        "id": models.QosRule.id,
        "direction": models.QosRule.direction,
        "max_kbps": models.QosRule.max_kbps,
        "max_burst_kbps": models.QosRule.max_burst_kbps,
        "dscp_mark": models.QosRule.dscp_mark,
        "min_kbps": models.QosRule.min_kbps,
    },
    converters={
        "max_kbps": listing.to_int,
        "max_burst_kbps": listing.to_int,
        "dscp_mark": listing.to_int,
        "min_kbps": listing.to_int,
    },
    sortable=frozenset({"id", "direction"}),
    getters={
        "id": lambda r: r.id,
        "direction": lambda r: r.direction,
        "max_kbps": lambda r: r.max_kbps,
        "max_burst_kbps": lambda r: r.max_burst_kbps,
        "dscp_mark": lambda r: r.dscp_mark,
        "min_kbps": lambda r: r.min_kbps,
    },
)


@dataclass(frozen=True, slots=True)
class QosRuleChanges:
    """A rule's parameters as the client sent them: those in ``given``."""

    direction: str | None = None
    max_kbps: int | None = None
    max_burst_kbps: int | None = None
    dscp_mark: int | None = None
    min_kbps: int | None = None
    given: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class QosRuleTarget:
    """What a rule's policy check reads: the rule (None on create) and the policy's owner."""

    project_id: str
    rule: QosRuleRecord | None = None


def _check_values(rule_type: str, row: models.QosRule) -> None:
    if row.direction not in DIRECTIONS:
        raise invalid_input(f"{row.direction} is not in valid values {list(DIRECTIONS)}")
    if rule_type == DSCP_MARKING:
        if row.dscp_mark not in VALID_DSCP_MARKS:
            raise invalid_input(f"{row.dscp_mark} is not in valid values {list(VALID_DSCP_MARKS)}")
        return
    for name in ("max_kbps", "max_burst_kbps", "min_kbps"):
        value = getattr(row, name)
        if value is not None and value < 0:
            raise invalid_input(f"'{value}' is too small - must be at least '0'")
    needed = "max_kbps" if rule_type == BANDWIDTH_LIMIT else "min_kbps"
    if getattr(row, needed) is None:
        raise invalid_input(f"Failed to parse request. Required attribute '{needed}' not specified")


class QosRules:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def list_items(
        self, ctx: RequestContext, policy_id: str, rule_type: str, query: listing.ListQuery
    ) -> tuple[str, list[QosRuleRecord]]:
        """The policy's owner and its rules of ``rule_type``."""
        with self.deps.db.reader() as session:
            policy = visible_policy(session, ctx, policy_id)
            stmt = select(models.QosRule).where(
                models.QosRule.policy_id == policy.id, models.QosRule.rule_type == rule_type
            )
            rules = listing.run(
                session, SPEC, stmt, query, lambda s, rows: [rule_record(r) for r in rows]
            )
            return policy.project_id, rules

    def show(
        self, ctx: RequestContext, policy_id: str, rule_type: str, rule_id: str
    ) -> tuple[str, QosRuleRecord]:
        """The policy's owner and the rule."""
        with self.deps.db.reader() as session:
            policy = visible_policy(session, ctx, policy_id)
            return policy.project_id, rule_record(_rule(session, policy.id, rule_type, rule_id))

    def create(
        self,
        ctx: RequestContext,
        policy_id: str,
        rule_type: str,
        values: QosRuleChanges,
        check: Check[QosRuleTarget],
    ) -> QosRuleRecord:
        def tx(session: Session) -> QosRuleRecord:
            policy = visible_policy(session, ctx, policy_id)
            check(QosRuleTarget(policy.project_id))
            row = models.QosRule(id=new_uuid(), policy_id=policy.id, rule_type=rule_type)
            row.direction = values.direction or "egress"
            if rule_type == BANDWIDTH_LIMIT:
                row.max_burst_kbps = 0
            for name in RULE_TYPES[rule_type]:
                if name in values.given and name != "direction":
                    setattr(row, name, getattr(values, name))
            return _store(session, policy, row)

        return self._change(policy_id, tx)

    def update(
        self,
        ctx: RequestContext,
        policy_id: str,
        rule_type: str,
        rule_id: str,
        changes: QosRuleChanges,
        check: Check[QosRuleTarget],
    ) -> QosRuleRecord:
        def tx(session: Session) -> QosRuleRecord:
            policy = visible_policy(session, ctx, policy_id)
            row = _rule(session, policy.id, rule_type, rule_id)
            check(QosRuleTarget(policy.project_id, rule_record(row)))
            for name in RULE_TYPES[rule_type]:
                if name in changes.given:
                    setattr(row, name, getattr(changes, name))
            if row.direction is None:
                row.direction = "egress"
            return _store(session, policy, row)

        return self._change(policy_id, tx)

    def delete(
        self,
        ctx: RequestContext,
        policy_id: str,
        rule_type: str,
        rule_id: str,
        check: Check[QosRuleTarget],
    ) -> None:
        def tx(session: Session) -> None:
            policy = visible_policy(session, ctx, policy_id)
            row = _rule(session, policy.id, rule_type, rule_id)
            check(QosRuleTarget(policy.project_id, rule_record(row)))
            session.delete(row)
            bump(policy)

        self._change(policy_id, tx)

    def _change(self, policy_id: str, tx: Callable[[Session], T]) -> T:
        """Write a change of the policy's rules, then re-wire every port it reaches."""
        result = self.deps.db.write(tx)
        self.deps.qos_policies.notify_users(policy_id)
        return result


def _rule(session: Session, policy_id: str, rule_type: str, rule_id: str) -> models.QosRule:
    row = session.get(models.QosRule, rule_id)
    if row is None or row.policy_id != policy_id or row.rule_type != rule_type:
        raise not_found("qos_rule", rule_id)
    return row


def _store(session: Session, policy: models.QosPolicy, row: models.QosRule) -> QosRuleRecord:
    """Check a new or changed rule and save it: a change of a rule is one of its policy."""
    _check_values(row.rule_type, row)
    _check_unique(session, row)
    session.add(row)
    bump(policy)
    session.flush()
    return rule_record(row)


def _check_unique(session: Session, row: models.QosRule) -> None:
    """One rule per (policy, type, direction): a second one is a conflict (409)."""
    stmt = select(models.QosRule.id).where(
        models.QosRule.policy_id == row.policy_id,
        models.QosRule.rule_type == row.rule_type,
        models.QosRule.direction == row.direction,
        models.QosRule.id != row.id,
    )
    if session.scalars(stmt).first() is not None:
        raise conflict(
            "QoSRulesConflict",
            f"Rule {row.rule_type} conflicts with a rule of the same type and direction "
            f"in QoS policy {row.policy_id}.",
        )
