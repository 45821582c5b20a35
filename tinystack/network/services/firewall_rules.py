"""FWaaS v2 firewall rules: a match (protocol, IP version, source and destination
addresses and port ranges) and an action (``allow``, ``deny``, ``reject``).

A rule may be in several policies (``firewall_policy_rules``); a rule in any policy
cannot be deleted (409 ``FirewallRuleInUse``). Changing a rule clears ``audited`` on
its policies and re-applies every firewall group that uses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import Conflict
from tinystack.network import models
from tinystack.network.services import listing
from tinystack.network.services._firewall_rows import FirewallRuleChanges as FirewallRuleChanges
from tinystack.network.services._firewall_rows import (
    assign,
    check_consistent,
    groups_using,
    new_rule,
    normalize,
    port_range_text,
    rule_row,
    visible_clause,
)
from tinystack.network.services.authz import Check
from tinystack.network.services.records import FirewallRuleRecord
from tinystack.network.services.standard_attrs import bump
from tinystack.network.services.visibility import project_of

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps


def policies_of(session: Session, rule_ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {r: [] for r in rule_ids}
    if rule_ids:
        stmt = (
            select(models.FirewallPolicyRule)
            .where(models.FirewallPolicyRule.firewall_rule_id.in_(list(rule_ids)))
            .order_by(models.FirewallPolicyRule.firewall_policy_id)
        )
        for assoc in session.scalars(stmt):
            out[assoc.firewall_rule_id].append(assoc.firewall_policy_id)
    return out


def rule_record(row: models.FirewallRule, policy_ids: Sequence[str]) -> FirewallRuleRecord:
    return FirewallRuleRecord(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        description=row.description,
        shared=row.shared,
        protocol=row.protocol,
        ip_version=row.ip_version,
        source_ip_address=row.source_ip_address,
        destination_ip_address=row.destination_ip_address,
        source_port=port_range_text(row.source_port_min, row.source_port_max),
        destination_port=port_range_text(row.destination_port_min, row.destination_port_max),
        action=row.action,
        enabled=row.enabled,
        firewall_policy_ids=tuple(policy_ids),
    )


SPEC = listing.ListSpec(
    resource="firewall_rule",
    model=models.FirewallRule,
    columns={
        "id": models.FirewallRule.id,
        "name": models.FirewallRule.name,
        "description": models.FirewallRule.description,
        "project_id": models.FirewallRule.project_id,
        "tenant_id": models.FirewallRule.project_id,
        "shared": models.FirewallRule.shared,
        "protocol": models.FirewallRule.protocol,
        "ip_version": models.FirewallRule.ip_version,
        "action": models.FirewallRule.action,
        "enabled": models.FirewallRule.enabled,
        "source_ip_address": models.FirewallRule.source_ip_address,
        "destination_ip_address": models.FirewallRule.destination_ip_address,
    },
    converters={
        "shared": listing.to_bool,
        "enabled": listing.to_bool,
        "ip_version": listing.to_int,
    },
    sortable=frozenset({"id", "name", "project_id", "tenant_id", "action"}),
    getters={
        "id": lambda r: r.id,
        "name": lambda r: r.name,
        "project_id": lambda r: r.project_id,
        "tenant_id": lambda r: r.project_id,
        "action": lambda r: r.action,
    },
)


class FirewallRules:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def records(
        self, session: Session, rows: Sequence[models.FirewallRule]
    ) -> list[FirewallRuleRecord]:
        policies = policies_of(session, [r.id for r in rows])
        return [rule_record(r, policies[r.id]) for r in rows]

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[FirewallRuleRecord]:
        self.deps.firewall_groups.ensure_default(ctx, query)
        with self.deps.db.reader() as session:
            stmt = select(models.FirewallRule).where(visible_clause(models.FirewallRule, ctx))
            return listing.run(session, SPEC, stmt, query, self.records)

    def show(self, ctx: RequestContext, rule_id: str) -> FirewallRuleRecord:
        with self.deps.db.reader() as session:
            return self.records(session, [rule_row(session, ctx, rule_id)])[0]

    def create(self, ctx: RequestContext, changes: FirewallRuleChanges) -> FirewallRuleRecord:
        """Create a rule (the API authorized the request already)."""
        values = normalize(changes)

        def tx(session: Session) -> FirewallRuleRecord:
            row = new_rule(changes.project_id or project_of(ctx), values)
            session.add(row)
            session.flush()
            return rule_record(row, ())

        return self.deps.db.write(tx)

    def update(
        self,
        ctx: RequestContext,
        rule_id: str,
        changes: FirewallRuleChanges,
        check: Check[FirewallRuleRecord],
    ) -> FirewallRuleRecord:
        values = normalize(changes)

        def tx(session: Session) -> tuple[list[str], FirewallRuleRecord]:
            row = rule_row(session, ctx, rule_id)
            before = self.records(session, [row])[0]
            check(before)
            policy_ids = list(before.firewall_policy_ids)
            groups = groups_using(session, policy_ids)
            self.deps.firewall_groups.ensure_not_pending(groups)
            if "shared" in values.given and values.shared is False and row.shared:
                _check_unshare(session, row, policy_ids)
            if assign(row, values):
                check_consistent(row)
                bump(row)
                for policy in policy_ids:
                    self.deps.firewall_policies.touched(session, policy)
                self.deps.firewall_groups.mark_pending(groups)
            session.flush()
            return [g.id for g in groups], rule_record(row, policy_ids)

        group_ids, updated = self.deps.db.write(tx)
        self.deps.firewall_groups.notify(group_ids)
        return updated

    def delete(self, ctx: RequestContext, rule_id: str, check: Check[FirewallRuleRecord]) -> None:
        def tx(session: Session) -> None:
            row = rule_row(session, ctx, rule_id)
            record = self.records(session, [row])[0]
            check(record)
            if record.firewall_policy_ids:
                raise Conflict(f"Firewall rule {row.id} is being used.", code="FirewallRuleInUse")
            session.delete(row)

        self.deps.db.write(tx)


def _check_unshare(session: Session, row: models.FirewallRule, policy_ids: list[str]) -> None:
    """A rule in a shared policy, or in another project's policy, stays shared."""
    for policy in session.scalars(
        select(models.FirewallPolicy).where(models.FirewallPolicy.id.in_(policy_ids))
    ):
        if policy.shared:
            raise Conflict(
                f"Operation cannot be performed. Before sharing firewall policy {policy.id}, "
                f"share associated firewall rule {row.id}.",
                code="FirewallPolicySharingConflict",
            )
        if policy.project_id != row.project_id:
            raise Conflict(f"Firewall rule {row.id} is being used.", code="FirewallRuleInUse")
