"""QoS policies: named sets of rules that ports and networks point at (``qos_policy_id``).

A policy is shared through RBAC (``qos_policy``/``access_as_shared``) like networks; one
policy per project may be its default (``is_default``), which the project's new networks
get. A port's effective policy is its own, else its network's (ports owned by the network
itself, ``network:*``, take only their own), which ``agent_sync`` sends the L2 agent. A
change to a policy's rules re-wires every port it reaches (``Events``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import isotime, new_uuid
from tinystack.network import models
from tinystack.network.exception import conflict, in_use
from tinystack.network.payloads import QosLimits
from tinystack.network.services import listing
from tinystack.network.services._rows import visible_policy
from tinystack.network.services.authz import Check, internal_context
from tinystack.network.services.records import QosPolicyRecord, QosRuleRecord
from tinystack.network.services.standard_attrs import (
    apply_given,
    bump,
    check_revision,
    init_standard,
)
from tinystack.network.services.visibility import (
    drop_grants,
    project_of,
    set_shared,
    shared_for,
    visible_clause,
)

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

OBJECT_TYPE = "qos_policy"
SHARED = "access_as_shared"
SPEC = listing.ListSpec(
    resource="policy",
    model=models.QosPolicy,
    columns={
        "id": models.QosPolicy.id,
        "name": models.QosPolicy.name,
        "project_id": models.QosPolicy.project_id,
        "tenant_id": models.QosPolicy.project_id,
        "is_default": models.QosPolicy.is_default,
        "description": models.QosPolicy.description,
        "revision_number": models.QosPolicy.revision_number,
    },
    converters={"is_default": listing.to_bool, "shared": listing.to_bool},
    sortable=frozenset({"id", "name", "project_id", "tenant_id", "is_default"}),
    getters={
        "id": lambda p: p.id,
        "name": lambda p: p.name,
        "project_id": lambda p: p.project_id,
        "tenant_id": lambda p: p.project_id,
        "shared": lambda p: p.shared,
        "is_default": lambda p: p.is_default,
        "description": lambda p: p.description,
        "revision_number": lambda p: p.revision_number,
        "created_at": lambda p: isotime(p.created_at),
        "updated_at": lambda p: isotime(p.updated_at),
        "tags": lambda p: p.tags,
    },
)


@dataclass(frozen=True, slots=True)
class QosPolicySpec:
    """A QoS policy to create; None: the default."""

    project_id: str | None = None
    name: str | None = None
    description: str | None = None
    shared: bool = False
    is_default: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class QosPolicyChanges:
    """An update of a QoS policy: the attributes in ``given``."""

    name: str | None = None
    description: str | None = None
    shared: bool | None = None
    is_default: bool | None = None
    given: frozenset[str] = frozenset()


def rule_record(row: models.QosRule) -> QosRuleRecord:
    return QosRuleRecord(
        id=row.id,
        policy_id=row.policy_id,
        rule_type=row.rule_type,
        direction=row.direction,
        max_kbps=row.max_kbps,
        max_burst_kbps=row.max_burst_kbps,
        dscp_mark=row.dscp_mark,
        min_kbps=row.min_kbps,
    )


def default_policy(session: Session, project_id: str) -> str | None:
    """The project's default QoS policy (what its new networks get), if it has one."""
    stmt = select(models.QosPolicy.id).where(
        models.QosPolicy.project_id == project_id, models.QosPolicy.is_default.is_(True)
    )
    return session.scalars(stmt).first()


def rules_of(session: Session, policy_ids: Sequence[str]) -> dict[str, list[QosRuleRecord]]:
    out: dict[str, list[QosRuleRecord]] = defaultdict(list)
    if policy_ids:
        stmt = (
            select(models.QosRule)
            .where(models.QosRule.policy_id.in_(list(policy_ids)))
            .order_by(models.QosRule.rule_type, models.QosRule.direction, models.QosRule.id)
        )
        for row in session.scalars(stmt):
            out[row.policy_id].append(rule_record(row))
    return out


def limits(session: Session, port: models.Port, network: models.Network | None) -> QosLimits:
    """The port's effective policy (its own, else its network's unless the network owns
    the port) as the data plane applies it."""
    policy_id = port.qos_policy_id
    if policy_id is None and network is not None and not port.device_owner.startswith("network:"):
        policy_id = network.qos_policy_id
    if policy_id is None:
        return QosLimits()
    values: dict[str, int | str | None] = {"policy_id": policy_id}
    for rule in rules_of(session, [policy_id])[policy_id]:
        if rule.rule_type == "bandwidth_limit":
            values[f"{rule.direction}_kbps"] = rule.max_kbps or 0
            values[f"{rule.direction}_burst_kbps"] = rule.max_burst_kbps or 0
        elif rule.rule_type == "dscp_marking":
            values["dscp_mark"] = rule.dscp_mark
    return QosLimits(**values)  # type: ignore[arg-type]


class QosPolicies:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def records(
        self,
        session: Session,
        rows: Sequence[models.QosPolicy],
        ctx: RequestContext | None = None,
    ) -> list[QosPolicyRecord]:
        ids = [r.id for r in rows]
        shared = shared_for(session, OBJECT_TYPE, ids, ctx)
        rules = rules_of(session, ids)
        return [
            QosPolicyRecord(
                id=r.id,
                name=r.name,
                project_id=r.project_id,
                shared=r.id in shared,
                is_default=r.is_default,
                rules=tuple(rules[r.id]),
                description=r.description,
                created_at=r.created_at,
                updated_at=r.updated_at,
                revision_number=r.revision_number,
                tags=tuple(r.tags or ()),
            )
            for r in rows
        ]

    def list_items(self, ctx: RequestContext, query: listing.ListQuery) -> list[QosPolicyRecord]:
        clause = visible_clause(models.QosPolicy, OBJECT_TYPE, ctx, (SHARED,))
        with self.deps.db.reader() as session:
            stmt = select(models.QosPolicy).where(clause)
            return listing.run(
                session, SPEC, stmt, query, lambda s, rows: self.records(s, rows, ctx)
            )

    def show(self, ctx: RequestContext, policy_id: str) -> QosPolicyRecord:
        with self.deps.db.reader() as session:
            return self.records(session, [visible_policy(session, ctx, policy_id)], ctx)[0]

    def create(self, ctx: RequestContext, spec: QosPolicySpec) -> QosPolicyRecord:
        """Create a policy (the API authorized the request already)."""
        project_id = spec.project_id or project_of(ctx)

        def tx(session: Session) -> QosPolicyRecord:
            if spec.is_default:
                _check_no_default(session, project_id, None)
            row = models.QosPolicy(
                id=new_uuid(),
                project_id=project_id,
                name=spec.name or "",
                is_default=spec.is_default,
                tags=sorted(set(spec.tags)),
            )
            init_standard(row, spec.description)
            session.add(row)
            session.flush()
            set_shared(session, OBJECT_TYPE, row, spec.shared)
            session.flush()
            return self.records(session, [row], ctx)[0]

        return self.deps.db.write(tx)

    def update(
        self,
        ctx: RequestContext,
        policy_id: str,
        changes: QosPolicyChanges,
        check: Check[QosPolicyRecord],
        revision: int | None = None,
    ) -> QosPolicyRecord:
        def tx(session: Session) -> QosPolicyRecord:
            row = visible_policy(session, ctx, policy_id)
            current = self.records(session, [row], ctx)[0]
            check(current)
            check_revision(row, revision)
            changed = apply_given(row, changes, ("name", "description"), lambda v: v or "")
            if "is_default" in changes.given and bool(changes.is_default) != row.is_default:
                if changes.is_default:
                    _check_no_default(session, row.project_id, row.id)
                row.is_default = bool(changes.is_default)
                changed = True
            if "shared" in changes.given and bool(changes.shared) != current.shared:
                if not changes.shared:
                    _check_unshare(session, row)
                set_shared(session, OBJECT_TYPE, row, bool(changes.shared))
                changed = True
            if changed:
                bump(row)
            session.flush()
            return self.records(session, [row], ctx)[0]

        return self.deps.db.write(tx)

    def delete(
        self,
        ctx: RequestContext,
        policy_id: str,
        check: Check[QosPolicyRecord],
        revision: int | None = None,
    ) -> None:
        def tx(session: Session) -> None:
            row = visible_policy(session, ctx, policy_id)
            check(self.records(session, [row], ctx)[0])
            check_revision(row, revision)
            user = _first_user(session, row, other_projects=False)
            if user is not None:
                kind = "port" if user[0] is models.Port else "network"
                raise in_use("QosPolicyInUse", f"QoS Policy {row.id} is used by {kind} {user[1]}.")
            drop_grants(session, OBJECT_TYPE, row.id)
            session.delete(row)

        self.deps.db.write(tx)

    def notify_users(self, policy_id: str) -> None:
        """Tell the agents about every port and network the policy reaches."""
        with self.deps.db.reader() as session:
            nets = list(
                session.scalars(
                    select(models.Network.id).where(models.Network.qos_policy_id == policy_id)
                )
            )
            ports = list(
                session.scalars(
                    select(models.Port).where(
                        or_(
                            models.Port.qos_policy_id == policy_id,
                            models.Port.network_id.in_(nets),
                        )
                    )
                )
            )
            records = self.deps.ports.records(session, ports, internal_context())
        for net_id in nets:
            self.deps.events.network_changed(net_id)
        for port in records:
            self.deps.events.port_changed(port)


def _check_no_default(session: Session, project_id: str, policy_id: str | None) -> None:
    found = default_policy(session, project_id)
    if found is not None and found != policy_id:
        raise conflict(
            "QoSPolicyDefaultAlreadyExists",
            f"A default QoS policy exists for project {project_id}.",
        )


def _check_unshare(session: Session, row: models.QosPolicy) -> None:
    """A policy any port or network uses stays shared (409): upstream counts the owner's
    own networks and ports too when the wildcard grant would go."""
    user = _first_user(session, row, other_projects=False)
    if user is not None:
        model, other = user
        raise in_use(
            "QosPolicyInUse",
            f"QoS Policy {row.id} is used by {model.__tablename__} {other}.",
        )


def _first_user(
    session: Session, row: models.QosPolicy, other_projects: bool
) -> tuple[type[models.Port] | type[models.Network], str] | None:
    """The first port, else network, that points at the policy (with ``other_projects``
    only those of projects other than the policy's owner)."""
    for model in (models.Port, models.Network):
        stmt = select(model.id).where(model.qos_policy_id == row.id)
        if other_projects:
            stmt = stmt.where(model.project_id != row.project_id)
        found = session.scalars(stmt).first()
        if found is not None:
            return model, found
    return None
