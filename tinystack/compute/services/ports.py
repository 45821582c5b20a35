"""Ports for instances: allocate and bind, wait for plugging, release, refresh addresses.

Without a network service in the catalog nothing is allocated: ``networks: auto``
yields no addresses, as upstream without Neutron.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from tinystack.common.clients.network import NetworkClient
from tinystack.common.clients.session import ClientError
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.compute import exception
from tinystack.compute.objects import PortOwner

LOG = logging.getLogger(__name__)
DEVICE_OWNER = "compute:{zone}"
#: one entry of an instance's stored ``network_info`` (``VIF.from_stored`` reads it)
StoredVif = dict[str, JSON]


def _vif(
    port: dict[str, Any],
    network: dict[str, Any] | None,
    subnets: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": port["id"],
        "address": port.get("mac_address", ""),
        "network_id": port.get("network_id", ""),
        "network_label": (network or {}).get("name") or port.get("network_id", ""),
        "fixed_ips": [
            {
                "ip_address": ip["ip_address"],
                "subnet_id": ip.get("subnet_id"),
                "version": 6 if ":" in ip["ip_address"] else 4,
            }
            for ip in port.get("fixed_ips", [])
        ],
        "floating_ips": [],
        "active": port.get("status") == "ACTIVE",
        "mtu": (network or {}).get("mtu"),
        "subnets": subnets or [],
        **extra,
    }


SUBNET_KEYS = ("cidr", "gateway_ip", "enable_dhcp", "dns_nameservers", "host_routes")


def _subnets(
    client: NetworkClient, port: dict[str, Any], known: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """What the metadata service and config drive need of the port's subnets (kept with the
    VIF so serving metadata does not ask the network service); ``known`` ones are reused."""
    wanted = [ip.get("subnet_id") for ip in port.get("fixed_ips", []) if ip.get("subnet_id")]
    have = {s["id"]: s for s in known or [] if s.get("id") in wanted}
    missing = sorted({w for w in wanted if w not in have})
    if missing:
        try:
            for subnet in client.list_subnets(id=missing):
                have[subnet["id"]] = {
                    "id": subnet["id"],
                    **{k: subnet.get(k) for k in SUBNET_KEYS},
                    "ipv6_address_mode": subnet.get("ipv6_address_mode"),
                }
        except ClientError as exc:
            LOG.info("cannot read the subnets of port %s: %s", port.get("id"), exc)
    return [have[w] for w in dict.fromkeys(wanted) if w in have]


def choose_auto_network(client: NetworkClient, ctx: CallContext, project_id: str) -> str | None:
    nets = [
        n
        for n in client.list_networks(token=ctx.token)
        if not n.get("router:external")
        and (n.get("shared") or n.get("project_id", n.get("tenant_id")) == project_id)
    ]
    if len(nets) > 1:
        raise exception.NetworkAmbiguous()
    if nets:
        return str(nets[0]["id"])
    # as upstream: nothing usable, so ask for the project's auto-allocated topology
    return client.auto_allocated_network(project_id, token=ctx.token)


def _security_group_ids(
    client: NetworkClient, ctx: CallContext, project_id: str, names: list[str]
) -> list[str] | None:
    if not names:
        return None
    groups = client.list_security_groups(token=ctx.token, project_id=project_id)
    ids = []
    for name in names:
        match = [g["id"] for g in groups if name in (g.get("id"), g.get("name"))]
        if not match:
            raise exception.NetworkError(
                f"Security group {name} not found for project {project_id}."
            )
        ids.append(match[0])
    return ids


def _dns_integration(client: NetworkClient) -> bool:
    """Whether the network service offers ``dns-integration`` (ports with a ``dns_name``)."""
    try:
        return client.has_extension("dns-integration")
    except ClientError as exc:
        LOG.warning("cannot list the network extensions: %s", exc)
        return False


def wants_ports(client: NetworkClient, requested: Any) -> bool:
    """Whether a build with these requested networks allocates ports."""
    if requested in (None, "none") or requested == []:
        return False
    return client.available()


def allocate(
    client: NetworkClient, ctx: CallContext, inst: PortOwner, host: str
) -> list[StoredVif]:
    """Create or adopt the instance's ports and bind them to ``host``."""
    requested = (inst.request_spec or {}).get("requested_networks")
    if not client.available() or requested in (None, "none") or requested == []:
        return []
    if requested == "auto":
        network_id = choose_auto_network(client, ctx, inst.project_id)
        if network_id is None:
            return []
        requested = [{"network_id": network_id}]
    zone = inst.availability_zone or "nova"
    groups = _security_group_ids(client, ctx, inst.project_id, list(inst.security_groups or []))
    vifs: list[dict[str, Any]] = []
    try:
        for req in requested:
            vifs.append(_one_port(client, ctx, inst, host, zone, req, groups))
    except Exception:
        deallocate(client, ctx, vifs)
        raise
    return vifs


def _one_port(
    client: NetworkClient,
    ctx: CallContext,
    inst: PortOwner,
    host: str,
    zone: str,
    req: dict[str, Any],
    groups: list[str] | None,
) -> dict[str, Any]:
    owner = DEVICE_OWNER.format(zone=zone)
    preexisting = bool(req.get("port_id"))
    if preexisting:
        port_id = str(req["port_id"])
    else:
        body: dict[str, Any] = {
            "network_id": req["network_id"],
            "device_id": inst.uuid,
            "device_owner": owner,
        }
        if req.get("fixed_ip"):
            body["fixed_ips"] = [{"ip_address": req["fixed_ip"]}]
        if groups is not None:
            body["security_groups"] = groups
        if ctx.token is None:
            body["project_id"] = inst.project_id
        port_id = client.create_port(body, token=ctx.token)["id"]
    binding: dict[str, Any] = {
        "device_id": inst.uuid,
        "device_owner": owner,
        "binding:host_id": host,
    }
    if inst.hostname and _dns_integration(client):
        # as Nova: the port is named after the instance where the service has DNS names
        binding["dns_name"] = inst.hostname
    try:
        port = client.update_port(port_id, binding)
    except ClientError:
        if not preexisting:
            client.delete_port(port_id)
        raise
    network = client.get_network(port["network_id"])
    subnets = _subnets(client, port)
    return _vif(port, network, subnets, preexisting=preexisting, tag=req.get("tag"))


def deallocate(
    client: NetworkClient, ctx: CallContext, vifs: Sequence[StoredVif], strict: bool = False
) -> None:
    """Delete the ports compute created; unbind those the user brought (``strict``: a
    port that could not be released, other than one already gone, raises its
    ClientError once every port was tried)."""
    if not client.available():
        return
    failed: list[ClientError] = []
    for vif in vifs:
        try:
            if vif.get("preexisting"):
                unbind = {"device_id": "", "device_owner": "", "binding:host_id": ""}
                if _dns_integration(client):
                    unbind["dns_name"] = ""
                client.update_port(str(vif["id"]), unbind)
            else:
                client.delete_port(str(vif["id"]))
        except ClientError as exc:
            LOG.warning("cannot release port %s: %s", vif.get("id"), exc)
            if exc.status != 404:
                failed.append(exc)
    if strict and failed:
        raise failed[0]


def deallocate_for(
    client: NetworkClient, ctx: CallContext, inst: PortOwner, strict: bool = False
) -> None:
    """Release every port of the instance: those its ``network_info`` names and those the
    network service lists as its own that it does not (a build killed between creating a
    port and recording it), as upstream's ``deallocate_for_instance`` asks Neutron; a port
    the request named is the user's and only unbound. ``strict``: the network service
    not answering raises (a delete must then fail, not leave ports behind)."""
    vifs: list[StoredVif] = list(inst.network_info or [])
    if client.available():
        known = {str(v.get("id")) for v in vifs}
        requested = (inst.request_spec or {}).get("requested_networks")
        brought = {
            str(r["port_id"]) for r in requested or [] if isinstance(r, dict) and r.get("port_id")
        }
        try:
            listed = client.list_ports(device_id=inst.uuid)
        except ClientError as exc:
            LOG.warning("cannot list the ports of %s: %s", inst.uuid, exc)
            if strict:
                raise
            listed = []
        for port in listed:
            if port["id"] not in known:
                vifs.append({"id": port["id"], "preexisting": port["id"] in brought})
    deallocate(client, ctx, vifs, strict)


def refresh(client: NetworkClient, inst: PortOwner) -> list[StoredVif]:
    """The instance's VIFs as the network service now sees them (addresses, floating IPs)."""
    if not client.available():
        return list(inst.network_info or [])
    known = {v["id"]: v for v in inst.network_info or []}
    vifs = []
    for port in client.list_ports(device_id=inst.uuid):
        network = client.get_network(port["network_id"])
        old = known.get(port["id"], {})
        subnets = _subnets(client, port, old.get("subnets"))
        vif = _vif(
            port, network, subnets, preexisting=old.get("preexisting", False), tag=old.get("tag")
        )
        try:
            response = client.session.request(
                "network", "GET", "/v2.0/floatingips", params={"port_id": port["id"]}
            )
            vif["floating_ips"] = [
                f["floating_ip_address"] for f in response.json().get("floatingips", [])
            ]
        except ClientError:
            vif["floating_ips"] = old.get("floating_ips", [])
        vifs.append(vif)
    return vifs
