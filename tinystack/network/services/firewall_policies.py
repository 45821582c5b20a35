"""FWaaS v2 firewall policies: ordered rule lists (first match wins).

``insert_rule`` puts a rule before ``insert_before`` or after ``insert_after`` (the
former wins when both are given), at the top when neither is; ``remove_rule`` takes it
out; positions are renumbered from 1. Any change to a policy or to one of its rules
clears ``audited`` (unless the same update sets it) and re-applies the firewall groups
that use the policy. A shared policy holds only shared rules; a policy may hold
another project's rule only when that rule is shared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Conflict, NotFound
from tinystack.network import models
from tinystack.network.services import listing
from tinystack.network.services._firewall_rows import (
    groups_using,
    new_policy,
    policy_row,
    rule_not_found,
    rule_row,
    set_rules,
    visible_clause,
)
from tinystack.network.services.authz import Check
from tinystack.network.services.records import FirewallPolicyRecord
from tinystack.network.services.standard_attrs import bump
from tinystack.network.services.visibility import project_of

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

DEFAULT_INGRESS = "default ingress"
DEFAULT_EGRESS = "default egress"
_UUID_LEN = 36

SPEC = listing.ListSpec(
    resource="firewall_policy",
    model=models.FirewallPolicy,
    columns={
        "id": models.FirewallPolicy.id,
        "name": models.FirewallPolicy.name,
        "description": models.FirewallPolicy.description,
        "project_id": models.FirewallPolicy.project_id,
        "tenant_id": models.FirewallPolicy.project_id,
        "shared": models.FirewallPolicy.shared,
        "audited": models.FirewallPolicy.audited,
    },
    converters={"shared": listing.to_bool, "audited": listing.to_bool},
    sortable=frozenset({"id", "name", "project_id", "tenant_id"}),
    getters={
        "id": lambda p: p.id,
        "name": lambda p: p.name,
        "project_id": lambda p: p.project_id,
        "tenant_id": lambda p: p.project_id,
    },
)


@dataclass(frozen=True, slots=True)
class FirewallPolicyChanges:
    """A policy's attributes as the client sent them: those in ``given``."""

    project_id: str | None = None
    name: str | None = None
    description: str | None = None
    shared: bool | None = None
    audited: bool | None = None
    firewall_rules: tuple[str, ...] | None = None
    given: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class RuleInsertion:
    """``insert_rule``/``remove_rule``'s body (None: absent)."""

    firewall_rule_id: str | None = None
    insert_before: str | None = None
    insert_after: str | None = None


def reserved_name(name: str, kind: str) -> Conflict:
    return Conflict(
        f"Operation cannot be performed since '{name}' is a reserved name for {kind}.",
        code="FirewallDefaultParameterExists",
    )


def default_restricted(resource_id: str) -> Conflict:
    return Conflict(
        f"Operation cannot be performed on default object '{resource_id}' of type Firewall Group.",
        code="FirewallDefaultObjectUpdateRestricted",
    )


def rule_ids_of(session: Session, policy_ids: Sequence[str]) -> dict[str, list[str]]:
    """Each policy's rule ids in order."""
    out: dict[str, list[str]] = defaultdict(list)
    if policy_ids:
        stmt = (
            select(models.FirewallPolicyRule)
            .where(models.FirewallPolicyRule.firewall_policy_id.in_(list(policy_ids)))
            .order_by(models.FirewallPolicyRule.position)
        )
        for assoc in session.scalars(stmt):
            out[assoc.firewall_policy_id].append(assoc.firewall_rule_id)
    return out


class FirewallPolicies:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def records(
        self, session: Session, rows: Sequence[models.FirewallPolicy]
    ) -> list[FirewallPolicyRecord]:
        rules = rule_ids_of(session, [r.id for r in rows])
        return [
            FirewallPolicyRecord(
                id=r.id,
                project_id=r.project_id,
                name=r.name,
                description=r.description,
                shared=r.shared,
                audited=r.audited,
                firewall_rules=tuple(rules[r.id]),
            )
            for r in rows
        ]

    def list_items(
        self, ctx: RequestContext, query: listing.ListQuery
    ) -> list[FirewallPolicyRecord]:
        self.deps.firewall_groups.ensure_default(ctx, query)
        with self.deps.db.reader() as session:
            stmt = select(models.FirewallPolicy).where(visible_clause(models.FirewallPolicy, ctx))
            return listing.run(session, SPEC, stmt, query, self.records)

    def show(self, ctx: RequestContext, policy_id: str) -> FirewallPolicyRecord:
        with self.deps.db.reader() as session:
            return self.records(session, [policy_row(session, ctx, policy_id)])[0]

    def create(self, ctx: RequestContext, changes: FirewallPolicyChanges) -> FirewallPolicyRecord:
        """Create a policy (the API authorized the request already)."""
        if changes.name in (DEFAULT_INGRESS, DEFAULT_EGRESS):
            raise reserved_name(str(changes.name), "Firewall Policy")

        def tx(session: Session) -> FirewallPolicyRecord:
            project_id = changes.project_id or project_of(ctx)
            rule_ids = list(changes.firewall_rules or ())
            self._check_rules(session, ctx, project_id, bool(changes.shared), rule_ids, None)
            row = new_policy(
                session, project_id, changes.name or "", changes.description or "", rule_ids
            )
            row.shared = bool(changes.shared)
            row.audited = bool(changes.audited)
            session.flush()
            return self.records(session, [row])[0]

        return self.deps.db.write(tx)

    def update(
        self,
        ctx: RequestContext,
        policy_id: str,
        changes: FirewallPolicyChanges,
        check: Check[FirewallPolicyRecord],
    ) -> FirewallPolicyRecord:
        def tx(session: Session) -> tuple[list[str], FirewallPolicyRecord]:
            row = policy_row(session, ctx, policy_id)
            check(self.records(session, [row])[0])
            if row.name in (DEFAULT_INGRESS, DEFAULT_EGRESS):
                raise default_restricted(row.id)
            if changes.name in (DEFAULT_INGRESS, DEFAULT_EGRESS):
                raise reserved_name(str(changes.name), "Firewall Policy")
            groups = groups_using(session, [row.id])
            self.deps.firewall_groups.ensure_not_pending(groups)
            given = changes.given
            shared = bool(changes.shared) if "shared" in given else row.shared
            if not shared and any(g.project_id != row.project_id for g in groups):
                raise Conflict(
                    f"Firewall policy {row.id} is being used.", code="FirewallPolicyInUse"
                )
            if "firewall_rules" in given:
                rule_ids = list(changes.firewall_rules or ())
                self._check_rules(session, ctx, row.project_id, shared, rule_ids, row.id)
                set_rules(session, row.id, rule_ids)
            elif "shared" in given and shared:
                self._check_shareable(session, row.id)
            for name in ("name", "description"):
                if name in given:
                    setattr(row, name, getattr(changes, name) or "")
            row.shared = shared
            row.audited = bool(changes.audited) if "audited" in given else False
            bump(row)
            self.deps.firewall_groups.mark_pending(groups)
            session.flush()
            return [g.id for g in groups], self.records(session, [row])[0]

        group_ids, updated = self.deps.db.write(tx)
        self.deps.firewall_groups.notify(group_ids)
        return updated

    def delete(
        self, ctx: RequestContext, policy_id: str, check: Check[FirewallPolicyRecord]
    ) -> None:
        def tx(session: Session) -> None:
            row = policy_row(session, ctx, policy_id)
            check(self.records(session, [row])[0])
            if groups_using(session, [row.id]):
                raise Conflict(
                    f"Firewall policy {row.id} is being used.", code="FirewallPolicyInUse"
                )
            session.delete(row)  # its firewall_policy_rules go with it (ON DELETE CASCADE)

        self.deps.db.write(tx)

    def insert_rule(
        self,
        ctx: RequestContext,
        policy_id: str,
        insertion: RuleInsertion,
        check: Check[FirewallPolicyRecord],
    ) -> FirewallPolicyRecord:
        rule_id = _rule_id(insertion)

        def position(rule_ids: list[str]) -> int:
            reference, before = insertion.insert_before, True
            if not reference:
                reference, before = insertion.insert_after, False
            if not reference:
                return 0
            if reference not in rule_ids:
                raise _not_associated(reference, policy_id)
            return rule_ids.index(reference) + (0 if before else 1)

        def change(session: Session, row: models.FirewallPolicy, rule_ids: list[str]) -> None:
            if rule_id in rule_ids:
                raise Conflict(
                    f"Operation cannot be performed since firewall rule {rule_id} is already "
                    f"associated with firewall policy {row.id}.",
                    code="FirewallRuleAlreadyAssociated",
                )
            rule = rule_row(session, ctx, rule_id)
            _check_owner(rule, row.project_id)
            rule_ids.insert(position(rule_ids), rule_id)

        return self._change_rules(ctx, policy_id, check, change)

    def remove_rule(
        self,
        ctx: RequestContext,
        policy_id: str,
        insertion: RuleInsertion,
        check: Check[FirewallPolicyRecord],
    ) -> FirewallPolicyRecord:
        rule_id = _rule_id(insertion)

        def change(session: Session, row: models.FirewallPolicy, rule_ids: list[str]) -> None:
            rule_row(session, ctx, rule_id)
            if rule_id not in rule_ids:
                raise _not_associated(rule_id, row.id)
            rule_ids.remove(rule_id)

        return self._change_rules(ctx, policy_id, check, change)

    def _change_rules(
        self,
        ctx: RequestContext,
        policy_id: str,
        check: Check[FirewallPolicyRecord],
        change: Any,
    ) -> FirewallPolicyRecord:
        def tx(session: Session) -> tuple[list[str], FirewallPolicyRecord]:
            row = policy_row(session, ctx, policy_id)
            before = self.records(session, [row])[0]
            check(before)
            groups = groups_using(session, [row.id])
            self.deps.firewall_groups.ensure_not_pending(groups)
            rule_ids = list(before.firewall_rules)
            change(session, row, rule_ids)
            set_rules(session, row.id, rule_ids)
            self.touched(session, row.id)
            self.deps.firewall_groups.mark_pending(groups)
            session.flush()
            return [g.id for g in groups], self.records(session, [row])[0]

        group_ids, updated = self.deps.db.write(tx)
        self.deps.firewall_groups.notify(group_ids)
        return updated

    def touched(self, session: Session, policy_id: str) -> None:
        """A policy's rules changed: it is no longer audited."""
        row = session.get(models.FirewallPolicy, policy_id)
        if row is not None:
            row.audited = False
            bump(row)

    def _check_rules(
        self,
        session: Session,
        ctx: RequestContext,
        project_id: str,
        shared: bool,
        rule_ids: list[str],
        policy_id: str | None,
    ) -> None:
        for rule_id in rule_ids:
            rule = rule_row(session, ctx, rule_id)
            if shared and not rule.shared:
                raise NotFound(
                    f"Operation cannot be performed since firewall policy {policy_id or ''} "
                    f"could not find the firewall rule {rule_id}. Please confirm if the "
                    "firewall rule exists and is shared.",
                    code="FirewallRuleSharingConflict",
                )
            _check_owner(rule, project_id)

    def _check_shareable(self, session: Session, policy_id: str) -> None:
        stmt = (
            select(models.FirewallRule.id)
            .join(
                models.FirewallPolicyRule,
                models.FirewallPolicyRule.firewall_rule_id == models.FirewallRule.id,
            )
            .where(
                models.FirewallPolicyRule.firewall_policy_id == policy_id,
                models.FirewallRule.shared.is_(False),
            )
        )
        unshared = session.scalars(stmt).first()
        if unshared is not None:
            raise Conflict(
                f"Operation cannot be performed. Before sharing firewall policy {policy_id}, "
                f"share associated firewall rule {unshared}.",
                code="FirewallPolicySharingConflict",
            )


def _rule_id(insertion: RuleInsertion) -> str:
    rule_id = insertion.firewall_rule_id
    if not rule_id:
        raise BadRequest(
            "Missing rule info argument for insert/remove rule operation.",
            code="FirewallRuleInfoMissing",
        )
    if len(rule_id) != _UUID_LEN or rule_id.count("-") != 4:
        raise rule_not_found(rule_id)
    return rule_id


def _not_associated(rule_id: str, policy_id: str) -> BadRequest:
    return BadRequest(
        f"Firewall rule {rule_id} is not associated with firewall policy {policy_id}.",
        code="FirewallRuleNotAssociatedWithPolicy",
    )


def _check_owner(rule: models.FirewallRule, project_id: str) -> None:
    if not rule.shared and rule.project_id != project_id:
        raise Conflict(
            f"Operation cannot be performed since firewall rule {rule.id} is not shared and "
            f"belongs to another project {rule.project_id}.",
            code="FirewallRuleConflict",
        )
