"""Security group rules: protocol, port range, remote prefix or group, direction, ethertype."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.common.timeutils import isotime, new_uuid
from tinystack.network import models
from tinystack.network.exception import conflict, invalid_input, not_found
from tinystack.network.services import listing, quotas
from tinystack.network.services._rows import visible_group
from tinystack.network.services.authz import Check
from tinystack.network.services.group_rules import normalized_cidr, rule_records
from tinystack.network.services.records import SecurityGroupRuleRecord
from tinystack.network.services.standard_attrs import init_standard
from tinystack.network.services.visibility import project_of, rbac_targets

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

PROTOCOL_NUMBERS = {
    "ah": 51,
    "dccp": 33,
    "egp": 8,
    "esp": 50,
    "gre": 47,
    "icmp": 1,
    "icmpv6": 58,
    "igmp": 2,
    "ipip": 4,
    "ipv6-encap": 41,
    "ipv6-frag": 44,
    "ipv6-icmp": 58,
    "ipv6-nonxt": 59,
    "ipv6-opts": 60,
    "ipv6-route": 43,
    "ospf": 89,
    "pgm": 113,
    "rsvp": 46,
    "sctp": 132,
    "tcp": 6,
    "udp": 17,
    "udplite": 136,
    "vrrp": 112,
}
PORT_PROTOCOLS = {6, 17, 33, 132, 136}
ICMP_PROTOCOLS = {1, 58}
SPEC = listing.ListSpec(
    resource="security_group_rule",
    model=models.SecurityGroupRule,
    columns={
        "id": models.SecurityGroupRule.id,
        "security_group_id": models.SecurityGroupRule.security_group_id,
        "project_id": models.SecurityGroupRule.project_id,
        "tenant_id": models.SecurityGroupRule.project_id,
        "direction": models.SecurityGroupRule.direction,
        "ethertype": models.SecurityGroupRule.ethertype,
        "protocol": models.SecurityGroupRule.protocol,
        "port_range_min": models.SecurityGroupRule.port_range_min,
        "port_range_max": models.SecurityGroupRule.port_range_max,
        "remote_ip_prefix": models.SecurityGroupRule.remote_ip_prefix,
        "remote_group_id": models.SecurityGroupRule.remote_group_id,
        "description": models.SecurityGroupRule.description,
    },
    converters={
        "port_range_min": listing.to_int_or_none,
        "port_range_max": listing.to_int_or_none,
        "revision_number": listing.to_int,
        "belongs_to_default_sg": listing.to_bool,
    },
    sortable=frozenset({"id", "security_group_id", "project_id", "direction", "ethertype"}),
    getters={
        "id": lambda r: r.id,
        "security_group_id": lambda r: r.security_group_id,
        "project_id": lambda r: r.project_id,
        "tenant_id": lambda r: r.project_id,
        "direction": lambda r: r.direction,
        "ethertype": lambda r: r.ethertype,
        "protocol": lambda r: r.protocol,
        "port_range_min": lambda r: r.port_range_min,
        "port_range_max": lambda r: r.port_range_max,
        "remote_ip_prefix": lambda r: r.remote_ip_prefix,
        "normalized_cidr": lambda r: r.normalized_cidr,
        "remote_group_id": lambda r: r.remote_group_id,
        "belongs_to_default_sg": lambda r: r.belongs_to_default_sg,
        "description": lambda r: r.description,
        "created_at": lambda r: isotime(r.created_at),
        "updated_at": lambda r: isotime(r.updated_at),
        "revision_number": lambda r: r.revision_number,
    },
)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A rule to create, as requested (checked when it is created)."""

    security_group_id: str
    project_id: str | None = None
    direction: str | None = None
    ethertype: str | None = None
    #: a name, a number or a numeric string
    protocol: object = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class RuleTarget:
    """What the create policy needs beyond the request: the ``index``-th rule of the
    request is owned by ``project_id`` in a group owned by ``group_project_id``."""

    index: int
    project_id: str
    group_project_id: str


def _protocol(raw: Any, ethertype: str) -> tuple[str | None, int | None]:
    """(stored protocol, its number); ``any``/None/empty mean every protocol."""
    if raw is None or str(raw).lower() in ("", "any"):
        return None, None
    text = str(raw).lower()
    if text in PROTOCOL_NUMBERS:
        number = PROTOCOL_NUMBERS[text]
    else:
        try:
            number = int(text)
        except ValueError:
            raise BadRequest(
                f"Security group rule protocol {raw} not supported. Only protocol values "
                f"{sorted(PROTOCOL_NUMBERS)} and integer representations [0 to 255] are "
                "supported.",
                code="SecurityGroupRuleInvalidProtocol",
            ) from None
        if not 0 <= number <= 255:
            raise BadRequest(
                f"Security group rule protocol {raw} not supported.",
                code="SecurityGroupRuleInvalidProtocol",
            )
    if ethertype == "IPv4" and text in ("icmpv6", "ipv6-icmp"):
        raise BadRequest(
            f"Protocol {text} is not supported by ethertype IPv4.",
            code="SecurityGroupRuleInvalidEtherType",
        )
    return text, number


def _ports(number: int | None, low: Any, high: Any) -> tuple[int | None, int | None]:
    low = listing.to_int_or_none(low)
    high = listing.to_int_or_none(high)
    if low is None and high is None:
        return None, None
    if number is None:
        raise BadRequest(
            "Must also specify protocol if port range is given.",
            code="SecurityGroupProtocolRequiredWithPorts",
        )
    if number in ICMP_PROTOCOLS:
        for name, value in (("type", low), ("code", high)):
            if value is not None and not 0 <= value <= 255:
                raise BadRequest(
                    f"Invalid value for ICMP {name} {value}: must be between 0 and 255.",
                    code="SecurityGroupInvalidIcmpValue",
                )
        if low is None:
            raise BadRequest(
                f"ICMP code (port-range-max) {high} is provided but ICMP type "
                "(port-range-min) is missing.",
                code="SecurityGroupMissingIcmpType",
            )
        return low, high
    if number not in PORT_PROTOCOLS:
        raise BadRequest(
            f"Invalid protocol {number} for port range, only supported for TCP, UDP, UDPLITE, "
            "SCTP, DCCP, ICMP and ICMPV6 protocols.",
            code="SecurityGroupInvalidProtocolForPortRange",
        )
    for value in (low, high):
        if value is not None and not 1 <= value <= 65535:
            raise BadRequest(
                f"Invalid value for port {value}: ports are 1 to 65535.",
                code="SecurityGroupInvalidPortValue",
            )
    if low is None or high is None or low > high:
        raise BadRequest(
            "For TCP/UDP protocols, port_range_min must be <= port_range_max.",
            code="SecurityGroupInvalidPortRange",
        )
    return low, high


def _remote_prefix(raw: Any, ethertype: str) -> str | None:
    if raw is None or raw == "":
        return None
    try:
        net = ipaddress.ip_network(str(raw), strict=False)
    except ValueError:
        raise invalid_input(f"'{raw}' is not a valid IP subnet") from None
    if f"IPv{net.version}" != ethertype:
        raise BadRequest(
            f"Conflicting value ethertype {ethertype} for CIDR {raw}",
            code="SecurityGroupRuleParameterConflict",
        )
    return str(raw)


class SecurityGroupRules:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _visible_clause(self, ctx: RequestContext) -> Any:
        if ctx.is_admin:
            return True
        project = project_of(ctx)
        shared = select(models.RbacPolicy.object_id).where(
            models.RbacPolicy.object_type == "security_group",
            models.RbacPolicy.target_project.in_(rbac_targets(ctx)),
        )
        owned = select(models.SecurityGroup.id).where(models.SecurityGroup.project_id == project)
        return or_(
            models.SecurityGroupRule.project_id == project,
            models.SecurityGroupRule.security_group_id.in_(owned),
            models.SecurityGroupRule.security_group_id.in_(shared),
        )

    def list_items(
        self, ctx: RequestContext, query: listing.ListQuery
    ) -> list[SecurityGroupRuleRecord]:
        stmt = select(models.SecurityGroupRule).where(self._visible_clause(ctx))
        with self.deps.db.reader() as session:
            return listing.run(session, SPEC, stmt, query, rule_records)

    def _visible(
        self, session: Session, ctx: RequestContext, rule_id: str
    ) -> models.SecurityGroupRule:
        row = session.get(models.SecurityGroupRule, rule_id)
        if row is None:
            raise not_found("security_group_rule", rule_id)
        if not (ctx.is_admin or row.project_id == project_of(ctx)):
            try:
                visible_group(session, ctx, row.security_group_id)
            except Exception:
                raise not_found("security_group_rule", rule_id) from None
        return row

    def show(self, ctx: RequestContext, rule_id: str) -> SecurityGroupRuleRecord:
        with self.deps.db.reader() as session:
            return rule_records(session, [self._visible(session, ctx, rule_id)])[0]

    def create_bulk(
        self, ctx: RequestContext, specs: list[RuleSpec], check: Check[RuleTarget]
    ) -> list[SecurityGroupRuleRecord]:
        """Create rules; each is authorized once its group is loaded (``check``)."""

        def tx(session: Session) -> list[SecurityGroupRuleRecord]:
            rows = [self._create(session, ctx, n, spec, check) for n, spec in enumerate(specs)]
            for project_id in {r.project_id for r in rows}:  # the new rows count already
                quotas.enforce(session, self.deps.opts, project_id, {"security_group_rule": 0})
            session.flush()
            return rule_records(session, rows)

        created = self.deps.db.write(tx)
        self.deps.events.security_groups_changed(sorted({r.security_group_id for r in created}))
        return created

    def _create(
        self,
        session: Session,
        ctx: RequestContext,
        index: int,
        spec: RuleSpec,
        check: Check[RuleTarget],
    ) -> models.SecurityGroupRule:
        group_id = spec.security_group_id
        if not group_id:
            raise invalid_input("security_group_id is required")
        group = visible_group(session, ctx, str(group_id))
        project_id = spec.project_id or group.project_id
        check(RuleTarget(index, project_id, group.project_id))
        direction = spec.direction
        if direction not in ("ingress", "egress"):
            raise invalid_input(f"'{direction}' is not in ['ingress', 'egress']")
        ethertype = spec.ethertype or "IPv4"
        if ethertype not in ("IPv4", "IPv6"):
            raise invalid_input(f"'{ethertype}' is not in ['IPv4', 'IPv6']")
        protocol, number = _protocol(spec.protocol, ethertype)
        low, high = _ports(number, spec.port_range_min, spec.port_range_max)
        prefix = _remote_prefix(spec.remote_ip_prefix, ethertype)
        remote_group = spec.remote_group_id or None
        if prefix and remote_group:
            raise BadRequest(
                "Only remote_ip_prefix or remote_group_id may be provided.",
                code="SecurityGroupRemoteGroupAndRemoteIpPrefix",
            )
        if remote_group:
            remote_group = visible_group(session, ctx, str(remote_group)).id
        self._check_duplicate(
            session, group.id, direction, ethertype, protocol, low, high, prefix, remote_group
        )
        row = models.SecurityGroupRule(
            id=new_uuid(),
            project_id=project_id,
            security_group_id=group.id,
            direction=direction,
            ethertype=ethertype,
            protocol=protocol,
            port_range_min=low,
            port_range_max=high,
            remote_ip_prefix=prefix,
            remote_group_id=remote_group,
        )
        init_standard(row, spec.description)
        session.add(row)
        session.flush()
        return row

    @staticmethod
    def _check_duplicate(session: Session, group_id: str, *key: Any) -> None:
        direction, ethertype, protocol, low, high, prefix, remote_group = key
        rows = session.scalars(
            select(models.SecurityGroupRule).where(
                models.SecurityGroupRule.security_group_id == group_id
            )
        )
        wanted = (
            direction,
            ethertype,
            _proto_key(protocol),
            low,
            high,
            normalized_cidr(prefix),
            remote_group,
        )
        for r in rows:
            have = (
                r.direction,
                r.ethertype,
                _proto_key(r.protocol),
                r.port_range_min,
                r.port_range_max,
                normalized_cidr(r.remote_ip_prefix),
                r.remote_group_id,
            )
            if have == wanted:
                raise conflict(
                    "SecurityGroupRuleExists",
                    f"Security group rule already exists. Rule id is {r.id}.",
                )

    def delete(
        self, ctx: RequestContext, rule_id: str, check: Check[SecurityGroupRuleRecord]
    ) -> None:
        def tx(session: Session) -> str:
            row = self._visible(session, ctx, rule_id)
            check(rule_records(session, [row])[0])
            session.delete(row)
            return row.security_group_id

        self.deps.events.security_groups_changed([self.deps.db.write(tx)])


def _proto_key(protocol: str | None) -> int | None:
    if protocol is None:
        return None
    return PROTOCOL_NUMBERS.get(protocol, None) if not protocol.isdigit() else int(protocol)
