"""Validation of port attributes: MAC address, address pairs, DHCP options, security groups."""

from __future__ import annotations

import random
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.rpc.payload import JSON
from tinystack.network import ipam, models
from tinystack.network.exception import conflict, invalid_input, not_found
from tinystack.network.services.visibility import project_of, rbac_targets

MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
VNIC_TYPES = (
    "normal",
    "direct",
    "macvtap",
    "baremetal",
    "direct-physical",
    "virtio-forwarder",
    "smart-nic",
    "vdpa",
    "remote-managed",
)


def check_mac(value: Any) -> str:
    text = str(value).strip().lower().replace("-", ":")
    if not MAC_RE.match(text):
        raise invalid_input(f"'{value}' is not a valid MAC address")
    if int(text.split(":")[0], 16) & 1 or text == "00:00:00:00:00:00":
        raise invalid_input(f"'{value}' is not a valid MAC address")
    return text


def random_mac(base_mac: str) -> str:
    """A MAC with ``base_mac``'s first three octets and three random ones."""
    prefix = base_mac.lower().split(":")[:3]
    tail = [f"{random.getrandbits(8):02x}" for _ in range(3)]
    return ":".join(prefix + tail)


def mac_in_use(session: Session, network_id: str, mac: str, port_id: str | None = None) -> bool:
    stmt = select(models.Port.id).where(
        models.Port.network_id == network_id, models.Port.mac_address == mac
    )
    found = session.scalars(stmt).first()
    return found is not None and found != port_id


def mac_conflict(network_id: str, mac: str) -> Exception:
    return conflict(
        "MacAddressInUse",
        f"Unable to complete operation for network {network_id}. The mac address {mac} is in use.",
    )


def check_address_pairs(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise invalid_input(f"'{value}' is not a list")
    out: list[dict[str, str]] = []
    for pair in value:
        if not isinstance(pair, dict) or "ip_address" not in pair:
            raise invalid_input("Allowed address pairs must contain ip_address")
        unknown = set(pair) - {"ip_address", "mac_address"}
        if unknown:
            raise invalid_input(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
        ip = str(pair["ip_address"])
        if "/" in ip:
            ipam.parse_cidr(ip)
        else:
            ipam.parse_ip(ip)
        clean = {"ip_address": ip}
        if pair.get("mac_address"):
            clean["mac_address"] = check_mac(pair["mac_address"])
        if clean in out:
            raise invalid_input("Request contains duplicate address pair")
        out.append(clean)
    return out


def fill_pair_macs(pairs: list[dict[str, str]], mac: str) -> list[dict[str, str]]:
    return [
        {"ip_address": p["ip_address"], "mac_address": p.get("mac_address") or mac} for p in pairs
    ]


def check_dhcp_opts(value: Any) -> list[dict[str, JSON]]:
    if not isinstance(value, list):
        raise invalid_input(f"'{value}' is not a list")
    out: list[dict[str, JSON]] = []
    for opt in value:
        if not isinstance(opt, dict) or "opt_name" not in opt:
            raise invalid_input("Extra DHCP options must contain opt_name")
        unknown = set(opt) - {"opt_name", "opt_value", "ip_version"}
        if unknown:
            raise invalid_input(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
        version = opt.get("ip_version", 4)
        if version not in (4, 6):
            raise invalid_input(f"'{version}' is not in [4, 6]")
        out.append(
            {
                "opt_name": str(opt["opt_name"]),
                "opt_value": opt.get("opt_value"),
                "ip_version": version,
            }
        )
    return out


def check_vnic_type(value: Any) -> str:
    if value not in VNIC_TYPES:
        raise invalid_input(f"'{value}' is not in {list(VNIC_TYPES)}")
    return str(value)


def check_security_groups(
    session: Session, ctx: RequestContext, project_id: str, group_ids: Any
) -> list[str]:
    """The group ids, each owned by the port's project or shared with the caller."""
    if not isinstance(group_ids, list):
        raise invalid_input(f"'{group_ids}' is not a list")
    ids = list(dict.fromkeys(str(g) for g in group_ids))
    if not ids:
        return []
    rows = {
        r.id: r
        for r in session.scalars(
            select(models.SecurityGroup).where(models.SecurityGroup.id.in_(ids))
        )
    }
    shared = set(
        session.scalars(
            select(models.RbacPolicy.object_id).where(
                models.RbacPolicy.object_type == "security_group",
                models.RbacPolicy.object_id.in_(ids),
                models.RbacPolicy.target_project.in_([project_id, *rbac_targets(ctx)]),
            )
        )
    )
    for group_id in ids:
        row = rows.get(group_id)
        visible = row is not None and (
            ctx.is_admin or row.project_id in (project_id, project_of(ctx)) or row.id in shared
        )
        if not visible:
            raise not_found("security_group", group_id)
    if len({bool(rows[g].stateful) for g in ids}) > 1:
        raise conflict(
            "SecurityGroupConflict",
            "Stateful and stateless security groups cannot be applied to the same port.",
        )
    return ids
