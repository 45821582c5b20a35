"""The compute API's network proxies (microversions before 2.36) over the network service.

``os-security-groups``, ``os-security-group-rules``, ``os-floating-ips``,
``os-floating-ip-pools``, ``os-networks`` and ``os-tenant-networks`` are Nova's old
views of networking. As upstream with Neutron, every call is made to the network
service with the caller's own token (so its policy decides) and the answer is put in
Nova's shape: a group lists its ingress rules, a rule has ``ip_range`` or ``group``,
a floating IP names its pool (the external network) and instance. Neutron's errors
become Nova's: not found is 404, anything refused is 400.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from typing import Any

from tinystack.common.clients.network import NetworkClient
from tinystack.common.clients.session import ClientError, ClientNotFound
from tinystack.common.exceptions import BadRequest, Conflict, Forbidden, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute.services.deps import Deps

PROTOCOLS = ("tcp", "udp", "icmp")


@dataclass(frozen=True, slots=True)
class RemoteGroup:
    name: str
    tenant_id: str


@dataclass(frozen=True, slots=True)
class RuleRecord:
    """An ingress rule in Nova's shape: from a remote ``group`` or from ``cidr``."""

    id: str
    parent_group_id: str
    ip_protocol: str | None
    from_port: int | None
    to_port: int | None
    group: RemoteGroup | None
    cidr: str | None


@dataclass(frozen=True, slots=True)
class SecurityGroupRecord:
    id: str
    name: str
    description: str
    tenant_id: str
    rules: tuple[RuleRecord, ...]


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A new rule as ``os-security-group-rules`` takes it (ports as given)."""

    parent_group_id: str
    ip_protocol: str | None = None
    from_port: int | str | None = None
    to_port: int | str | None = None
    cidr: str | None = None
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class FloatingIpRecord:
    id: str
    ip: str
    fixed_ip: str | None
    instance_id: str | None
    pool: str


@dataclass(frozen=True, slots=True)
class NetworkRecord:
    id: str
    label: str
    cidr: str | None


def _client(deps: Deps) -> NetworkClient:
    if not deps.network.available():
        raise NotFound("The resource could not be found.")
    return deps.network


def _call(
    deps: Deps, ctx: CallContext, method: str, path: str, body: Any = None, **params: Any
) -> dict[str, Any]:
    try:
        return _client(deps).call(method, path, body, token=ctx.token, params=params or None)
    except ClientNotFound as exc:
        raise NotFound(exc.message) from exc
    except ClientError as exc:
        if exc.status == 403:
            raise Forbidden(exc.message) from exc
        if exc.status in (400, 409):
            raise BadRequest(exc.message) from exc
        raise


# -- security groups -------------------------------------------------------------------------


def _rule_record(rule: dict[str, Any], names: dict[str, dict[str, Any]]) -> RuleRecord:
    low, high = rule.get("port_range_min"), rule.get("port_range_max")
    protocol = rule.get("protocol")
    if protocol in ("icmp", "1") and low is None:
        low, high = -1, -1
    remote = rule.get("remote_group_id")
    group = None
    cidr = None
    if remote:
        found = names.get(remote, {})
        group = RemoteGroup(found.get("name", ""), found.get("project_id", ""))
    else:
        cidr = rule.get("remote_ip_prefix") or "0.0.0.0/0"
    return RuleRecord(
        id=rule["id"],
        parent_group_id=rule["security_group_id"],
        ip_protocol=protocol,
        from_port=low,
        to_port=high if high is not None else low,
        group=group,
        cidr=cidr,
    )


def _group_record(group: dict[str, Any], names: dict[str, dict[str, Any]]) -> SecurityGroupRecord:
    rules = [r for r in group.get("security_group_rules") or [] if r.get("direction") == "ingress"]
    return SecurityGroupRecord(
        id=group["id"],
        name=group.get("name", ""),
        description=group.get("description") or "",
        tenant_id=group.get("project_id") or group.get("tenant_id") or "",
        rules=tuple(_rule_record(r, names) for r in rules),
    )


def _views(deps: Deps, ctx: CallContext, groups: list[dict[str, Any]]) -> list[SecurityGroupRecord]:
    names = {g["id"]: g for g in groups}
    remote = {
        r["remote_group_id"]
        for g in groups
        for r in g.get("security_group_rules") or []
        if r.get("remote_group_id") and r["remote_group_id"] not in names
    }
    if remote:
        found = _call(deps, ctx, "GET", "/v2.0/security-groups", id=sorted(remote))
        names.update({g["id"]: g for g in found["security_groups"]})
    return [_group_record(g, names) for g in groups]


def list_security_groups(
    deps: Deps, ctx: CallContext, *, all_tenants: bool = False
) -> list[SecurityGroupRecord]:
    params = {} if all_tenants else {"project_id": ctx.project_id}
    groups = _call(deps, ctx, "GET", "/v2.0/security-groups", **params)["security_groups"]
    return _views(deps, ctx, groups)


def get_security_group(deps: Deps, ctx: CallContext, group_id: str) -> SecurityGroupRecord:
    group = _call(deps, ctx, "GET", f"/v2.0/security-groups/{group_id}")["security_group"]
    return _views(deps, ctx, [group])[0]


def create_security_group(
    deps: Deps, ctx: CallContext, name: str, description: str
) -> SecurityGroupRecord:
    body = {"security_group": {"name": name, "description": description}}
    group = _call(deps, ctx, "POST", "/v2.0/security-groups", body)["security_group"]
    return _views(deps, ctx, [group])[0]


def update_security_group(
    deps: Deps,
    ctx: CallContext,
    group_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
) -> SecurityGroupRecord:
    """Rename or describe a group (None: unchanged)."""
    values = {
        key: value
        for key, value in (("name", name), ("description", description))
        if value is not None
    }
    body = {"security_group": values}
    group = _call(deps, ctx, "PUT", f"/v2.0/security-groups/{group_id}", body)["security_group"]
    return _views(deps, ctx, [group])[0]


def delete_security_group(deps: Deps, ctx: CallContext, group_id: str) -> None:
    _call(deps, ctx, "DELETE", f"/v2.0/security-groups/{group_id}")


def create_rule(deps: Deps, ctx: CallContext, spec: RuleSpec) -> RuleRecord:
    parent = str(spec.parent_group_id)
    try:
        uuid.UUID(parent)
    except ValueError as exc:
        raise BadRequest("Security group id should be uuid") from exc
    _call(deps, ctx, "GET", f"/v2.0/security-groups/{parent}")  # 404 before anything else
    protocol = spec.ip_protocol
    rule: dict[str, Any] = {"security_group_id": parent, "direction": "ingress"}
    cidr = spec.cidr
    group_id = spec.group_id
    if cidr and group_id:
        raise BadRequest("Only one of cidr or group_id may be given.")
    if group_id:
        rule["remote_group_id"] = str(group_id)
        rule["ethertype"] = "IPv4"
    else:
        try:
            net = ipaddress.ip_network(str(cidr or "0.0.0.0/0"), strict=False)
        except ValueError as exc:
            raise BadRequest(f"Invalid CIDR {cidr}.") from exc
        rule["remote_ip_prefix"] = str(cidr or net)  # as given, as upstream keeps it
        rule["ethertype"] = "IPv6" if net.version == 6 else "IPv4"
    if protocol is not None:
        name = str(protocol).lower()
        if name not in PROTOCOLS:
            raise BadRequest(f"Invalid IP protocol {protocol}.")
        rule["protocol"] = "ipv6-icmp" if name == "icmp" and rule["ethertype"] == "IPv6" else name
        low, high = _ports(name, spec.from_port, spec.to_port)
        rule["port_range_min"], rule["port_range_max"] = low, high
    body = {"security_group_rule": rule}
    try:
        made = _client(deps).call(
            "POST", "/v2.0/security-group-rules", body, token=ctx.token, ok=(201,)
        )
    except ClientError as exc:
        if exc.status == 409:
            raise BadRequest(f"This rule already exists in group {parent}") from exc
        if exc.status == 404:
            raise NotFound(exc.message) from exc
        raise BadRequest(exc.message) from exc
    names = {}
    if group_id:
        remote = _call(deps, ctx, "GET", f"/v2.0/security-groups/{group_id}")["security_group"]
        names = {str(group_id): remote}
    return _rule_record(made["security_group_rule"], names)


def _ports(protocol: str, low: Any, high: Any) -> tuple[int | None, int | None]:
    try:
        low_n = int(low) if low is not None else None
        high_n = int(high) if high is not None else None
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"Invalid port range {low}:{high}.") from exc
    if protocol == "icmp":
        for value in (low_n, high_n):
            if value is not None and not -1 <= value <= 255:
                raise BadRequest(
                    f"Invalid port range {low}:{high}. ICMP type and code are -1..255."
                )
        if low_n in (None, -1):
            if high_n not in (None, -1):
                raise BadRequest(f"Invalid port range {low}:{high}.")
            return None, None
        return low_n, None if high_n in (None, -1) else high_n
    if low_n is None or high_n is None or not 1 <= low_n <= high_n <= 65535:
        raise BadRequest(f"Invalid port range {low}:{high}. Ports are 1..65535, from <= to.")
    return low_n, high_n


def delete_rule(deps: Deps, ctx: CallContext, rule_id: str) -> None:
    _call(deps, ctx, "DELETE", f"/v2.0/security-group-rules/{rule_id}")


# -- floating IPs ----------------------------------------------------------------------------


def _networks_by_id(deps: Deps, ctx: CallContext, ids: set[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    nets = _call(deps, ctx, "GET", "/v2.0/networks", id=sorted(ids))["networks"]
    return {n["id"]: n for n in nets}


def _fip_views(
    deps: Deps,
    ctx: CallContext,
    fips: list[dict[str, Any]],
    nets: dict[str, dict[str, Any]] | None = None,
) -> list[FloatingIpRecord]:
    if nets is None:
        nets = _networks_by_id(deps, ctx, {f["floating_network_id"] for f in fips})
    ports = {f["port_id"] for f in fips if f.get("port_id")}
    devices: dict[str, str] = {}
    if ports:
        for port in _call(deps, ctx, "GET", "/v2.0/ports", id=sorted(ports))["ports"]:
            devices[port["id"]] = port.get("device_id") or ""
    return [
        FloatingIpRecord(
            id=f["id"],
            ip=f["floating_ip_address"],
            fixed_ip=f.get("fixed_ip_address"),
            instance_id=devices.get(f.get("port_id") or "") or None,
            pool=(nets.get(f["floating_network_id"]) or {}).get("name") or f["floating_network_id"],
        )
        for f in fips
    ]


def list_floating_ips(deps: Deps, ctx: CallContext) -> list[FloatingIpRecord]:
    fips = _call(deps, ctx, "GET", "/v2.0/floatingips", project_id=ctx.project_id)["floatingips"]
    return _fip_views(deps, ctx, fips)


def get_floating_ip(deps: Deps, ctx: CallContext, fip_id: str) -> FloatingIpRecord:
    fip = _call(deps, ctx, "GET", f"/v2.0/floatingips/{fip_id}")["floatingip"]
    return _fip_views(deps, ctx, [fip])[0]


def floating_ip_pools(deps: Deps, ctx: CallContext) -> list[str]:
    nets = _call(deps, ctx, "GET", "/v2.0/networks", **{"router:external": "true"})["networks"]
    return [n["name"] or n["id"] for n in nets]


def create_floating_ip(deps: Deps, ctx: CallContext, pool: str | None) -> FloatingIpRecord:
    external = _call(deps, ctx, "GET", "/v2.0/networks", **{"router:external": "true"})["networks"]
    if pool is None:  # the only external network, or the one named public
        chosen = external[0] if len(external) == 1 else None
        chosen = chosen or next((n for n in external if n.get("name") == "public"), None)
    else:
        chosen = next((n for n in external if pool in (n["id"], n.get("name"))), None)
    if chosen is None:
        raise NotFound(f"Floating IP pool not found: {pool}" if pool else "No floating IP pool.")
    body = {"floatingip": {"floating_network_id": chosen["id"]}}
    fip = _call(deps, ctx, "POST", "/v2.0/floatingips", body)["floatingip"]
    return _fip_views(deps, ctx, [fip], {chosen["id"]: chosen})[0]


def delete_floating_ip(deps: Deps, ctx: CallContext, fip_id: str) -> None:
    _call(deps, ctx, "DELETE", f"/v2.0/floatingips/{fip_id}")


def _fip_by_address(deps: Deps, ctx: CallContext, address: str) -> dict[str, Any]:
    found = _call(deps, ctx, "GET", "/v2.0/floatingips", floating_ip_address=address)
    if not found["floatingips"]:
        raise NotFound(f"floating IP not found: {address}")
    return dict(found["floatingips"][0])


def associate(
    deps: Deps, ctx: CallContext, server_id: str, address: str, fixed: str | None
) -> None:
    fip = _fip_by_address(deps, ctx, address)
    ports = _call(deps, ctx, "GET", "/v2.0/ports", device_id=server_id)["ports"]
    if fixed:
        ports = [p for p in ports if any(ip["ip_address"] == fixed for ip in p["fixed_ips"])]
        if not ports:
            raise BadRequest(f"Specified fixed address {fixed} not assigned to instance")
    if not ports:
        raise BadRequest("Instance has no network port to associate the floating IP with.")
    if fip.get("port_id") and fip["port_id"] in {p["id"] for p in ports}:
        raise BadRequest(f"Floating IP {address} is already associated with this instance.")
    body: dict[str, Any] = {"port_id": ports[0]["id"]}
    if fixed:
        body["fixed_ip_address"] = fixed
    _call(deps, ctx, "PUT", f"/v2.0/floatingips/{fip['id']}", {"floatingip": body})


def disassociate(deps: Deps, ctx: CallContext, server_id: str, address: str) -> None:
    fip = _fip_by_address(deps, ctx, address)
    ports = {p["id"] for p in _call(deps, ctx, "GET", "/v2.0/ports", device_id=server_id)["ports"]}
    if fip.get("port_id") not in ports:
        raise Conflict(f"Floating IP {address} is not associated with instance {server_id}.")
    _call(deps, ctx, "PUT", f"/v2.0/floatingips/{fip['id']}", {"floatingip": {"port_id": None}})


# -- networks ---------------------------------------------------------------------------------


def _network_views(deps: Deps, ctx: CallContext, nets: list[dict[str, Any]]) -> list[NetworkRecord]:
    """Nova's ``id``/``label``/``cidr`` (the first subnet's), one subnet query for all."""
    firsts = {n["id"]: n["subnets"][0] for n in nets if n.get("subnets")}
    cidrs: dict[str, str] = {}
    if firsts:
        found = _call(deps, ctx, "GET", "/v2.0/subnets", id=sorted(set(firsts.values())))
        cidrs = {sub["id"]: str(sub["cidr"]) for sub in found["subnets"]}
    return [
        NetworkRecord(n["id"], n.get("name") or "", cidrs.get(firsts.get(n["id"], "")))
        for n in nets
    ]


def list_networks(deps: Deps, ctx: CallContext) -> list[NetworkRecord]:
    return _network_views(deps, ctx, _call(deps, ctx, "GET", "/v2.0/networks")["networks"])


def get_network(deps: Deps, ctx: CallContext, network_id: str) -> NetworkRecord:
    net = _call(deps, ctx, "GET", f"/v2.0/networks/{network_id}")["network"]
    return _network_views(deps, ctx, [net])[0]
