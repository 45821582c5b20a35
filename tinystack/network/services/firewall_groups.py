"""FWaaS v2 firewall groups: an ingress and an egress policy applied to router
interface ports (the L3 agent's chains in the router's namespace).

Status as upstream's agent driver: INACTIVE without ports or without any policy;
otherwise PENDING_CREATE/PENDING_UPDATE until the L3 agent reports what it applied
(ACTIVE, or DOWN when ``admin_state_up`` is false and the ports drop everything). A
group in a PENDING_* state refuses changes to itself, its policies and their rules
(409). A port is in one group at most. Every project has a ``default`` group (made on
its first list or create, as upstream): ingress ``default ingress`` denies, egress
``default egress`` allows; only an admin may delete it (with its policies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import Conflict, NotFound
from tinystack.common.timeutils import new_uuid
from tinystack.network import models
from tinystack.network.payloads import FirewallMatch, RouterPortFirewall
from tinystack.network.services import listing
from tinystack.network.services._firewall_rows import (
    FirewallRuleChanges,
    group_row,
    groups_using,
    new_policy,
    new_rule,
    policy_row,
    port_range_text,
    visible_clause,
)
from tinystack.network.services._rows import INTERFACE_OWNERS, visible_port
from tinystack.network.services.authz import Check
from tinystack.network.services.firewall_policies import (
    DEFAULT_EGRESS,
    DEFAULT_INGRESS,
    default_restricted,
    reserved_name,
    rule_ids_of,
)
from tinystack.network.services.records import FirewallGroupRecord
from tinystack.network.services.standard_attrs import bump, init_standard
from tinystack.network.services.visibility import project_of

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

DEFAULT_GROUP = "default"
PENDING = ("PENDING_CREATE", "PENDING_UPDATE", "PENDING_DELETE")
#: statuses the agent reports
APPLIED = ("ACTIVE", "DOWN")

SPEC = listing.ListSpec(
    resource="firewall_group",
    model=models.FirewallGroup,
    columns={
        "id": models.FirewallGroup.id,
        "name": models.FirewallGroup.name,
        "description": models.FirewallGroup.description,
        "project_id": models.FirewallGroup.project_id,
        "tenant_id": models.FirewallGroup.project_id,
        "shared": models.FirewallGroup.shared,
        "status": models.FirewallGroup.status,
        "admin_state_up": models.FirewallGroup.admin_state_up,
        "ingress_firewall_policy_id": models.FirewallGroup.ingress_firewall_policy_id,
        "egress_firewall_policy_id": models.FirewallGroup.egress_firewall_policy_id,
    },
    converters={"shared": listing.to_bool, "admin_state_up": listing.to_bool},
    sortable=frozenset({"id", "name", "project_id", "tenant_id", "status"}),
    getters={
        "id": lambda g: g.id,
        "name": lambda g: g.name,
        "project_id": lambda g: g.project_id,
        "tenant_id": lambda g: g.project_id,
        "status": lambda g: g.status,
    },
)


@dataclass(frozen=True, slots=True)
class FirewallGroupChanges:
    """A group's attributes as the client sent them: those in ``given``."""

    project_id: str | None = None
    name: str | None = None
    description: str | None = None
    shared: bool | None = None
    admin_state_up: bool | None = None
    ingress_firewall_policy_id: str | None = None
    egress_firewall_policy_id: str | None = None
    ports: tuple[str, ...] | None = None
    given: frozenset[str] = frozenset()


def _status(row: models.FirewallGroup, ports: Sequence[str], pending: str) -> str:
    if not ports or not (row.ingress_firewall_policy_id or row.egress_firewall_policy_id):
        return "INACTIVE"
    return pending


class FirewallGroups:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # -- reads -----------------------------------------------------------------------------

    def records(
        self, session: Session, rows: Sequence[models.FirewallGroup]
    ) -> list[FirewallGroupRecord]:
        ports = _ports_of(session, [r.id for r in rows])
        return [
            FirewallGroupRecord(
                id=r.id,
                project_id=r.project_id,
                name=r.name,
                description=r.description,
                shared=r.shared,
                admin_state_up=r.admin_state_up,
                status=r.status,
                ingress_firewall_policy_id=r.ingress_firewall_policy_id,
                egress_firewall_policy_id=r.egress_firewall_policy_id,
                ports=tuple(ports.get(r.id, ())),
            )
            for r in rows
        ]

    def list_items(
        self, ctx: RequestContext, query: listing.ListQuery
    ) -> list[FirewallGroupRecord]:
        self.ensure_default(ctx, query)
        port_filter = query.filters.pop("ports", None)
        with self.deps.db.reader() as session:
            stmt = select(models.FirewallGroup).where(visible_clause(models.FirewallGroup, ctx))
            if port_filter:
                stmt = stmt.where(
                    models.FirewallGroup.id.in_(
                        select(models.FirewallGroupPort.firewall_group_id).where(
                            models.FirewallGroupPort.port_id.in_(port_filter)
                        )
                    )
                )
            return listing.run(session, SPEC, stmt, query, self.records)

    def show(self, ctx: RequestContext, group_id: str) -> FirewallGroupRecord:
        with self.deps.db.reader() as session:
            return self.records(session, [group_row(session, ctx, group_id)])[0]

    # -- writes ----------------------------------------------------------------------------

    def create(self, ctx: RequestContext, changes: FirewallGroupChanges) -> FirewallGroupRecord:
        """Create a group (the API authorized the request already)."""
        if changes.name == DEFAULT_GROUP:
            raise reserved_name(DEFAULT_GROUP, "Firewall Group")
        project_id = changes.project_id or project_of(ctx)
        self._ensure_default_of(project_id)

        def tx(session: Session) -> FirewallGroupRecord:
            row = models.FirewallGroup(
                id=new_uuid(),
                project_id=project_id,
                name=changes.name or "",
                shared=bool(changes.shared),
                admin_state_up=changes.admin_state_up is not False,
                ingress_firewall_policy_id=changes.ingress_firewall_policy_id,
                egress_firewall_policy_id=changes.egress_firewall_policy_id,
            )
            init_standard(row, changes.description)
            self._check_policies(session, ctx, row)
            ports = list(changes.ports or ())
            self._check_ports(session, ctx, row, ports)
            row.status = _status(row, ports, "PENDING_CREATE")
            session.add(row)
            session.flush()
            _set_ports(session, row.id, ports)
            return self.records(session, [row])[0]

        created = self.deps.db.write(tx)
        self.notify_ports(list(created.ports))
        return created

    def update(
        self,
        ctx: RequestContext,
        group_id: str,
        changes: FirewallGroupChanges,
        check: Check[FirewallGroupRecord],
    ) -> FirewallGroupRecord:
        if changes.name == DEFAULT_GROUP:
            raise reserved_name(DEFAULT_GROUP, "Firewall Group")

        def tx(session: Session) -> tuple[list[str], FirewallGroupRecord]:
            row = group_row(session, ctx, group_id)
            before = self.records(session, [row])[0]
            check(before)
            self.ensure_not_pending([row])
            if row.default_of is not None:
                _check_default_update(row, changes, ctx.is_admin)
            given = changes.given
            for name in ("name", "description"):
                if name in given:
                    setattr(row, name, getattr(changes, name) or "")
            for name in ("shared", "admin_state_up"):
                if name in given:
                    setattr(row, name, bool(getattr(changes, name)))
            for name in ("ingress_firewall_policy_id", "egress_firewall_policy_id"):
                if name in given:
                    setattr(row, name, getattr(changes, name))
            self._check_policies(session, ctx, row)
            ports = list(before.ports)
            if "ports" in given:
                ports = list(changes.ports or ())
                self._check_ports(session, ctx, row, ports)
                _set_ports(session, row.id, ports)
            row.status = _status(row, ports, "PENDING_UPDATE")
            bump(row)
            session.flush()
            return sorted(set(before.ports) | set(ports)), self.records(session, [row])[0]

        touched, updated = self.deps.db.write(tx)
        self.notify_ports(touched)
        return updated

    def delete(self, ctx: RequestContext, group_id: str, check: Check[FirewallGroupRecord]) -> None:
        def tx(session: Session) -> None:
            row = group_row(session, ctx, group_id)
            record = self.records(session, [row])[0]
            check(record)
            if record.ports:
                raise Conflict(
                    f"Firewall group {row.id} is still active.", code="FirewallGroupInUse"
                )
            if row.default_of is not None and not ctx.is_admin:
                raise Conflict(
                    "Deleting default firewall group not allowed.",
                    code="FirewallGroupCannotRemoveDefault",
                )
            policies = [row.ingress_firewall_policy_id, row.egress_firewall_policy_id]
            default = row.default_of is not None
            session.delete(row)
            session.flush()
            if default:  # its policies go with it, as upstream's
                for policy_id in filter(None, policies):
                    if not groups_using(session, [policy_id]):
                        policy = session.get(models.FirewallPolicy, policy_id)
                        if policy is not None:
                            session.delete(policy)

        self.deps.db.write(tx)

    def set_statuses(self, statuses: dict[str, str]) -> None:
        """What the agent applied (ACTIVE/DOWN; anything else is ERROR), for groups
        still on ports: an INACTIVE group keeps its status."""

        def tx(session: Session) -> None:
            for group_id, status in statuses.items():
                session.execute(
                    update(models.FirewallGroup)
                    .where(
                        models.FirewallGroup.id == group_id,
                        models.FirewallGroup.status != "INACTIVE",
                    )
                    .values(status=status if status in APPLIED else "ERROR")
                )

        self.deps.db.write(tx)

    # -- shared with policies and rules ------------------------------------------------------

    def ensure_not_pending(self, groups: Sequence[models.FirewallGroup]) -> None:
        for group in groups:
            if group.status in PENDING:
                raise Conflict(
                    "Operation cannot be performed since associated firewall group "
                    f"{group.id} is in {group.status}.",
                    code="FirewallGroupInPendingState",
                )

    def mark_pending(self, groups: Sequence[models.FirewallGroup]) -> None:
        for group in groups:
            if group.status != "INACTIVE":
                group.status = "PENDING_UPDATE"

    def notify(self, group_ids: Sequence[str]) -> None:
        """Re-apply the groups on their routers."""
        if not group_ids:
            return
        with self.deps.db.reader() as session:
            ports = _ports_of(session, list(group_ids))
        self.notify_ports([p for found in ports.values() for p in found])

    def notify_ports(self, port_ids: Sequence[str]) -> None:
        if not port_ids:
            return
        with self.deps.db.reader() as session:
            routers = session.scalars(
                select(models.Port.device_id).where(models.Port.id.in_(list(port_ids)))
            )
            router_ids = sorted({r for r in routers if r})
        if router_ids:
            self.deps.events.routers_changed(router_ids)

    # -- the default group -----------------------------------------------------------------

    def ensure_default(self, ctx: RequestContext, query: listing.ListQuery) -> None:
        """Upstream makes the project's default group when its firewall objects are
        listed (the project filtered on, else the caller's)."""
        wanted = query.filters.get("project_id") or query.filters.get("tenant_id")
        project_id = str(wanted[0]) if wanted else ctx.project_id
        if project_id:
            self._ensure_default_of(project_id)

    def _ensure_default_of(self, project_id: str) -> None:
        with self.deps.db.reader() as session:
            found = session.scalars(
                select(models.FirewallGroup.id).where(models.FirewallGroup.default_of == project_id)
            ).first()
        if found is not None:
            return
        try:
            self.deps.db.write(lambda session: _make_default(session, project_id))
        except IntegrityError:  # made concurrently
            pass

    # -- checks ----------------------------------------------------------------------------

    def _check_policies(
        self, session: Session, ctx: RequestContext, row: models.FirewallGroup
    ) -> None:
        for policy_id in (row.ingress_firewall_policy_id, row.egress_firewall_policy_id):
            if policy_id is None:
                continue
            policy = policy_row(session, ctx, policy_id)
            if policy.project_id != row.project_id and not policy.shared:
                raise NotFound(
                    f"Operation cannot be performed since firewall policy {policy_id} for "
                    "your project could not be found. Please confirm if the firewall policy "
                    "exists and is shared.",
                    code="FirewallPolicyConflict",
                )

    def _check_ports(
        self, session: Session, ctx: RequestContext, row: models.FirewallGroup, ports: list[str]
    ) -> None:
        for port_id in ports:
            port = visible_port(session, ctx, port_id)
            if port.device_owner.startswith("compute:"):
                raise Conflict(
                    f"Port {port_id} is not supported by firewall driver 'iptables'.",
                    code="FirewallGroupPortNotSupported",
                )
            if port.device_owner not in INTERFACE_OWNERS:
                raise Conflict(
                    f"Port {port_id} of firewall group is invalid.",
                    code="FirewallGroupPortInvalid",
                )
            if port.project_id != row.project_id:
                raise Conflict(
                    f"Operation cannot be performed as port {port_id} is in an invalid "
                    f"project {port.project_id}.",
                    code="FirewallGroupPortInvalidProject",
                )
        if ports:
            taken = session.scalars(
                select(models.FirewallGroupPort.port_id).where(
                    models.FirewallGroupPort.port_id.in_(ports),
                    models.FirewallGroupPort.firewall_group_id != row.id,
                )
            ).all()
            if taken:
                raise Conflict(
                    f"Port(s) {sorted(taken)} provided already associated with other "
                    "firewall group(s).",
                    code="FirewallGroupPortInUse",
                )


def _check_default_update(
    row: models.FirewallGroup, changes: FirewallGroupChanges, is_admin: bool
) -> None:
    """Upstream: only ports and sharing of a default group change, and its name never."""
    restricted = {"name"}
    if not is_admin:
        restricted |= {
            "description",
            "admin_state_up",
            "ingress_firewall_policy_id",
            "egress_firewall_policy_id",
        }
    if restricted & changes.given:
        raise default_restricted(row.id)


def _ports_of(session: Session, group_ids: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if group_ids:
        stmt = (
            select(models.FirewallGroupPort)
            .where(models.FirewallGroupPort.firewall_group_id.in_(list(group_ids)))
            .order_by(models.FirewallGroupPort.port_id)
        )
        for assoc in session.scalars(stmt):
            out.setdefault(assoc.firewall_group_id, []).append(assoc.port_id)
    return out


def _set_ports(session: Session, group_id: str, ports: Sequence[str]) -> None:
    have = set()
    for assoc in session.scalars(
        select(models.FirewallGroupPort).where(
            models.FirewallGroupPort.firewall_group_id == group_id
        )
    ):
        if assoc.port_id in ports:
            have.add(assoc.port_id)
        else:
            session.delete(assoc)
    session.flush()
    for port_id in ports:
        if port_id not in have:
            session.add(models.FirewallGroupPort(port_id=port_id, firewall_group_id=group_id))
    session.flush()


def _make_default(session: Session, project_id: str) -> None:
    """The default group: ingress denies everything, egress allows everything."""
    policies = {}
    for direction, action in (("ingress", "deny"), ("egress", "allow")):
        rule_ids = []
        for version in (4, 6):
            rule = new_rule(
                project_id,
                FirewallRuleChanges(
                    name=f"default {direction} ipv{version}",
                    description=f"default {direction} rule for IPv{version}",
                    ip_version=version,
                    action=action,
                    given=frozenset({"name", "description", "ip_version", "action"}),
                ),
            )
            session.add(rule)
            session.flush()
            rule_ids.append(rule.id)
        name = DEFAULT_INGRESS if direction == "ingress" else DEFAULT_EGRESS
        description = f"{direction.capitalize()} firewall policy"
        policies[direction] = new_policy(session, project_id, name, description, rule_ids).id
    row = models.FirewallGroup(
        id=new_uuid(),
        project_id=project_id,
        name=DEFAULT_GROUP,
        shared=False,
        admin_state_up=True,
        status="INACTIVE",
        ingress_firewall_policy_id=policies["ingress"],
        egress_firewall_policy_id=policies["egress"],
        default_of=project_id,
    )
    init_standard(row, "Default firewall group")
    session.add(row)
    session.flush()


def router_firewalls(
    session: Session, router_ids: Sequence[str]
) -> dict[str, tuple[RouterPortFirewall, ...]]:
    """Each router's interface ports in a firewall group that is not INACTIVE, with the
    enabled rules of its policies in order (the L3 agent's input)."""
    out: dict[str, list[RouterPortFirewall]] = {r: [] for r in router_ids}
    if not router_ids:
        return {}
    stmt = (
        select(models.Port.device_id, models.Port.id, models.FirewallGroup)
        .join(models.FirewallGroupPort, models.FirewallGroupPort.port_id == models.Port.id)
        .join(
            models.FirewallGroup,
            models.FirewallGroup.id == models.FirewallGroupPort.firewall_group_id,
        )
        .where(
            models.Port.device_id.in_(list(router_ids)),
            models.Port.device_owner.in_(INTERFACE_OWNERS),
            models.FirewallGroup.status != "INACTIVE",
        )
        .order_by(models.Port.id)
    )
    found = session.execute(stmt).all()
    policy_ids = {
        p
        for _r, _p, g in found
        for p in (g.ingress_firewall_policy_id, g.egress_firewall_policy_id)
        if p
    }
    matches = _policy_matches(session, sorted(policy_ids))
    for router_id, port_id, group in found:
        out[router_id].append(
            RouterPortFirewall(
                port_id=port_id,
                group_id=group.id,
                status=group.status,
                admin_state_up=group.admin_state_up,
                ingress=matches.get(group.ingress_firewall_policy_id or "", ()),
                egress=matches.get(group.egress_firewall_policy_id or "", ()),
            )
        )
    return {r: tuple(v) for r, v in out.items()}


def _policy_matches(
    session: Session, policy_ids: Sequence[str]
) -> dict[str, tuple[FirewallMatch, ...]]:
    order = rule_ids_of(session, policy_ids)
    wanted = {r for ids in order.values() for r in ids}
    rules = {
        r.id: r
        for r in session.scalars(
            select(models.FirewallRule).where(models.FirewallRule.id.in_(sorted(wanted)))
        )
    }
    out = {}
    for policy_id, ids in order.items():
        out[policy_id] = tuple(_match(rules[r]) for r in ids if r in rules and rules[r].enabled)
    return out


def _match(rule: models.FirewallRule) -> FirewallMatch:
    return FirewallMatch(
        action=rule.action,
        ip_version=rule.ip_version,
        protocol=rule.protocol,
        source_ip_address=rule.source_ip_address,
        destination_ip_address=rule.destination_ip_address,
        source_port=port_range_text(rule.source_port_min, rule.source_port_max),
        destination_port=port_range_text(rule.destination_port_min, rule.destination_port_max),
    )
