"""Row-level helpers the FWaaS service modules share (``_``-named: they take and return
ORM rows and attribute dicts): visibility loaders, the groups a policy change reaches,
rule attribute checks and conversion, new rule and policy rows."""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select, true
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.timeutils import new_uuid
from tinystack.network import models
from tinystack.network.exception import http_bad_request
from tinystack.network.services.standard_attrs import init_standard
from tinystack.network.services.visibility import project_of

PROTOCOLS = (None, "tcp", "udp", "icmp")
ACTIONS = ("allow", "deny", "reject")
ATTRIBUTES = (
    "name",
    "description",
    "shared",
    "protocol",
    "ip_version",
    "source_ip_address",
    "destination_ip_address",
    "source_port",
    "destination_port",
    "action",
    "enabled",
)


@dataclass(frozen=True, slots=True)
class FirewallRuleChanges:
    """A rule's attributes as the client sent them: those in ``given`` (creates take the
    defaults for the rest)."""

    project_id: str | None = None
    name: str | None = None
    description: str | None = None
    shared: bool | None = None
    protocol: str | int | None = None
    ip_version: int | str | None = None
    source_ip_address: str | None = None
    destination_ip_address: str | None = None
    source_port: str | int | None = None
    destination_port: str | int | None = None
    action: str | None = None
    enabled: bool | None = None
    given: frozenset[str] = frozenset()


def visible_clause(model: Any, ctx: RequestContext) -> Any:
    """Own or shared (admins see everything): FWaaS shares with a column, not RBAC."""
    if ctx.is_admin:
        return true()
    return or_(model.project_id == project_of(ctx), model.shared.is_(True))


def _visible(row: Any, ctx: RequestContext) -> bool:
    return bool(ctx.is_admin or row.shared or row.project_id == project_of(ctx))


def rule_row(session: Session, ctx: RequestContext, rule_id: str) -> models.FirewallRule:
    row = session.get(models.FirewallRule, rule_id)
    if row is None or not _visible(row, ctx):
        raise rule_not_found(rule_id)
    return row


def policy_row(session: Session, ctx: RequestContext, policy_id: str) -> models.FirewallPolicy:
    row = session.get(models.FirewallPolicy, policy_id)
    if row is None or not _visible(row, ctx):
        raise policy_not_found(policy_id)
    return row


def group_row(session: Session, ctx: RequestContext, group_id: str) -> models.FirewallGroup:
    row = session.get(models.FirewallGroup, group_id)
    if row is None or not _visible(row, ctx):
        raise NotFound(
            f"Firewall group {group_id} could not be found.", code="FirewallGroupNotFound"
        )
    return row


def policy_not_found(policy_id: str) -> NotFound:
    return NotFound(
        f"Firewall policy {policy_id} could not be found.", code="FirewallPolicyNotFound"
    )


def groups_using(session: Session, policy_ids: Sequence[str]) -> list[models.FirewallGroup]:
    """The firewall groups with any of the policies as ingress or egress policy."""
    if not policy_ids:
        return []
    stmt = select(models.FirewallGroup).where(
        or_(
            models.FirewallGroup.ingress_firewall_policy_id.in_(list(policy_ids)),
            models.FirewallGroup.egress_firewall_policy_id.in_(list(policy_ids)),
        )
    )
    return list(session.scalars(stmt))


def rule_not_found(rule_id: str) -> NotFound:
    return NotFound(f"Firewall rule {rule_id} could not be found.", code="FirewallRuleNotFound")


def _invalid(name: str, reason: str) -> BadRequest:
    return http_bad_request(f"Invalid input for {name}. Reason: {reason}.")


def normalize(changes: FirewallRuleChanges) -> FirewallRuleChanges:
    """Check and convert the given attributes as upstream's attribute map does (400s)."""
    given = changes.given
    out: dict[str, object] = {}
    if "protocol" in given:
        proto = None if changes.protocol is None else str(changes.protocol).lower()
        proto = None if proto == "any" else proto
        if proto not in PROTOCOLS:
            raise _invalid("protocol", f"{changes.protocol} is not in valid_values")
        out["protocol"] = proto
    if "action" in given:
        action = str(changes.action).lower()
        if action not in ACTIONS:
            raise _invalid("action", f"{changes.action} is not in valid_values")
        out["action"] = action
    if "ip_version" in given:
        try:
            version = int(str(changes.ip_version))
        except ValueError:
            raise _invalid("ip_version", f"{changes.ip_version} is not in valid_values") from None
        if version not in (4, 6):
            raise _invalid("ip_version", f"{version} is not in valid_values")
        out["ip_version"] = version
    for name in ("source_ip_address", "destination_ip_address"):
        if name in given and getattr(changes, name) is not None:
            out[name] = _ip_or_subnet(name, getattr(changes, name))
    for name in ("source_port", "destination_port"):
        if name in given and getattr(changes, name) is not None:
            out[name] = _port_range(name, getattr(changes, name))
    return dataclasses.replace(changes, **out)  # type: ignore[arg-type]


def _ip_or_subnet(name: str, value: Any) -> str:
    text = str(value)
    try:
        if "/" in text:
            ipaddress.ip_network(text, strict=False)
        else:
            ipaddress.ip_address(text)
    except ValueError:
        raise _invalid(
            name, f"'{text}' is neither a valid IP address, nor is it a valid IP subnet"
        ) from None
    return text


def _port_range(name: str, value: Any) -> str:
    text = str(value)
    parts = text.split(":")
    if len(parts) > 2 or any(not p for p in parts):
        raise _invalid(name, "Port range must be two integers separated by a colon")
    for part in parts:
        if not part.isdigit() or not 0 <= int(part) <= 65535:
            raise _invalid(name, f"Invalid port: {part}")
    if len(parts) == 2 and int(parts[0]) > int(parts[1]):
        raise _invalid(name, "First port in a port range must be lower than the second port")
    return text


def _bounds(text: str | None) -> tuple[int | None, int | None]:
    if not text:
        return None, None
    first, _, last = text.partition(":")
    return int(first), int(last or first)


def port_range_text(low: int | None, high: int | None) -> str | None:
    if low is None:
        return None
    return str(low) if low == high else f"{low}:{high}"


def check_consistent(row: models.FirewallRule) -> None:
    """Upstream's cross-attribute checks of a rule (400s)."""
    ports = row.source_port_min is not None or row.destination_port_min is not None
    if row.protocol not in ("tcp", "udp") and ports:
        if row.protocol is None:
            raise BadRequest(
                "Source/destination port requires a protocol.",
                code="FirewallRuleWithPortWithoutProtocolInvalid",
            )
        raise BadRequest(
            "Source, destination port are not allowed when protocol is set to ICMP.",
            code="FirewallRuleInvalidICMPParameter",
        )
    for address in (row.source_ip_address, row.destination_ip_address):
        if address and ipaddress.ip_network(address, strict=False).version != row.ip_version:
            raise BadRequest(
                "Invalid input - IP addresses do not agree with IP Version.",
                code="FirewallIpAddressConflict",
            )


def assign(row: models.FirewallRule, changes: FirewallRuleChanges) -> bool:
    """Set the given (normalized) attributes on the row; whether any changed."""
    changed = False
    for name in sorted(changes.given & set(ATTRIBUTES)):
        value = getattr(changes, name)
        if name in ("source_port", "destination_port"):
            side = name.split("_")[0]
            low, high = _bounds(value)
            if (getattr(row, f"{side}_port_min"), getattr(row, f"{side}_port_max")) != (low, high):
                setattr(row, f"{side}_port_min", low)
                setattr(row, f"{side}_port_max", high)
                changed = True
            continue
        value = "" if value is None and name in ("name", "description") else value
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def new_rule(project_id: str, changes: FirewallRuleChanges) -> models.FirewallRule:
    """A rule row with upstream's defaults for what ``changes`` does not give; checked."""
    row = models.FirewallRule(
        id=new_uuid(),
        project_id=project_id,
        name="",
        shared=False,
        protocol=None,
        ip_version=4,
        action="deny",
        enabled=True,
    )
    init_standard(row, changes.description)
    assign(row, dataclasses.replace(changes, given=changes.given - {"description"}))
    check_consistent(row)
    return row


def set_rules(session: Session, policy_id: str, rule_ids: Sequence[str]) -> None:
    session.execute(
        delete(models.FirewallPolicyRule).where(
            models.FirewallPolicyRule.firewall_policy_id == policy_id
        )
    )
    session.flush()
    for position, rule_id in enumerate(rule_ids, start=1):
        session.add(
            models.FirewallPolicyRule(
                firewall_policy_id=policy_id, firewall_rule_id=rule_id, position=position
            )
        )
    session.flush()


def new_policy(
    session: Session, project_id: str, name: str, description: str, rule_ids: Sequence[str]
) -> models.FirewallPolicy:
    row = models.FirewallPolicy(
        id=new_uuid(), project_id=project_id, name=name, shared=False, audited=False
    )
    init_standard(row, description)
    session.add(row)
    session.flush()
    set_rules(session, row.id, rule_ids)
    return row
