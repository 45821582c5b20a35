"""What agents learn from the service: device details, DHCP networks, routers, rules.

Agents are trusted: these functions see every project's resources.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.network import models
from tinystack.network.plugins.mech_linuxbridge import AGENT_TYPE as LINUXBRIDGE_AGENT
from tinystack.network.plugins.mech_linuxbridge import bridge_name
from tinystack.network.services import listing
from tinystack.network.services.agents import alive
from tinystack.network.services.authz import allow_all, internal_context
from tinystack.network.services.networks import segments_of
from tinystack.network.services.routers import GATEWAY, INTERFACE_OWNERS
from tinystack.network.services.standard_attrs import bump

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

ADMIN = internal_context()
#: what the L3 agent learns about each subnet of a router port (radvd needs the modes)
ROUTER_SUBNET_KEYS = (
    "id",
    "cidr",
    "gateway_ip",
    "ip_version",
    "network_id",
    "ipv6_ra_mode",
    "ipv6_address_mode",
    "dns_nameservers",
)


def find_port(session: Session, device: str) -> models.Port | None:
    """A port by id, by ``tap<id prefix>`` device name, or by MAC address."""
    port = session.get(models.Port, device)
    if port is not None:
        return port
    if device.startswith("tap") and len(device) > 3:
        stmt = select(models.Port).where(models.Port.id.startswith(device[3:]))
        return session.scalars(stmt).first()
    if device.count(":") == 5:
        stmt = select(models.Port).where(models.Port.mac_address == device.lower())
        return session.scalars(stmt).first()
    return None


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not k.startswith("_")}


class AgentSync:
    def __init__(self, services: Deps) -> None:
        self.services = services
        self.deps = services

    # -- L2 ----------------------------------------------------------------------------------

    def device_details(self, device: str, host: str | None) -> dict[str, Any]:
        def tx(session: Session) -> tuple[dict[str, Any], dict[str, Any] | None, str]:
            port = find_port(session, device)
            if port is None:
                return {"device": device}, None, ""
            old = port.status
            if port.status == "DOWN" and port.admin_state_up:
                port.status = "BUILD"
                bump(port)
            rendered = self.services.ports.render(session, [port], ADMIN)[0]
            return self._details(session, port, rendered, device), rendered, old

        details, port, old = self.deps.db.write(tx)
        if port is not None and port["status"] != old:
            self.deps.events.port_status_changed(port, old, port["status"])
        return details

    def _details(
        self, session: Session, port: models.Port, rendered: dict[str, Any], device: str
    ) -> dict[str, Any]:
        net = session.get(models.Network, port.network_id)
        segments = segments_of(session, [port.network_id])[port.network_id]
        segment = segments[0] if segments else None
        return {
            "device": device,
            "port_id": port.id,
            "network_id": port.network_id,
            "mac_address": port.mac_address,
            "admin_state_up": port.admin_state_up,
            "status": port.status,
            "network_type": segment.network_type if segment else "local",
            "physical_network": segment.physical_network if segment else None,
            "segmentation_id": segment.segmentation_id if segment else None,
            "mtu": net.mtu if net is not None else None,
            "fixed_ips": rendered["fixed_ips"],
            "device_owner": port.device_owner,
            "device_id": port.device_id,
            "allowed_address_pairs": rendered["allowed_address_pairs"],
            "port_security_enabled": port.port_security_enabled,
            "security_groups": rendered["security_groups"],
            "host": port.binding_host_id,
            "vif_type": port.binding_vif_type,
            "vif_details": rendered["binding:vif_details"],
            "profile": rendered["binding:profile"],
            "bridge_name": bridge_name(port.network_id),
        }

    def set_status(self, device: str, status: str) -> dict[str, Any]:
        def tx(session: Session) -> tuple[dict[str, Any] | None, str]:
            port = find_port(session, device)
            if port is None:
                return None, ""
            old = port.status
            if old != status:
                port.status = status
                bump(port)
            return self.services.ports.render(session, [port], ADMIN)[0], old

        port, old = self.deps.db.write(tx)
        if port is None:
            return {"device": device, "exists": False}
        if old != status:
            self.deps.events.port_status_changed(port, old, status)
        return {"device": device, "exists": True, "port_id": port["id"]}

    def ports_for_host(self, host: str) -> list[dict[str, Any]]:
        with self.deps.db.reader() as session:
            rows = session.scalars(
                select(models.Port).where(models.Port.binding_host_id == host)
            ).all()
            rendered = self.services.ports.render(session, rows, ADMIN)
            return [self._details(session, r, p, r.id) for r, p in zip(rows, rendered, strict=True)]

    # -- DHCP --------------------------------------------------------------------------------

    def networks_info(self, network_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Networks with at least one DHCP-enabled subnet, with their subnets and ports."""
        svc = self.services
        subnet_filters: dict[str, list[Any]] = {"enable_dhcp": ["true"]}
        if network_ids is not None:
            subnet_filters["network_id"] = list(network_ids)
        subnets = svc.subnets.list_items(ADMIN, listing.ListQuery(filters=subnet_filters))
        ids = sorted({s["network_id"] for s in subnets})
        if not ids:
            return []
        nets = svc.networks.list_items(ADMIN, listing.ListQuery(filters={"id": ids}))
        all_subnets = svc.subnets.list_items(ADMIN, listing.ListQuery(filters={"network_id": ids}))
        ports = svc.ports.list_items(ADMIN, listing.ListQuery(filters={"network_id": ids}))
        by_net: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: {"subnets": [], "ports": []}
        )
        for subnet in all_subnets:
            by_net[subnet["network_id"]]["subnets"].append(_public(subnet))
        for port in ports:
            by_net[port["network_id"]]["ports"].append(_public(port))
        return [{**_public(net), **by_net[net["id"]]} for net in nets]

    def create_dhcp_port(self, port: dict[str, Any], host: str) -> dict[str, Any]:
        network_id = str(port.get("network_id") or "")
        device_id = str(port.get("device_id") or "")
        existing = self.services.ports.list_items(
            ADMIN,
            listing.ListQuery(filters={"network_id": [network_id], "device_id": [device_id]}),
        )
        if existing and device_id:
            found = existing[0]
            have = {ip["subnet_id"] for ip in found["fixed_ips"]}
            missing = [
                ip
                for ip in port.get("fixed_ips") or []
                if ip.get("subnet_id") and ip["subnet_id"] not in have
            ]
            if missing:  # a subnet added after the port: it gets an address there too
                fixed = [*found["fixed_ips"], *missing]
                found = self.services.ports.update(
                    ADMIN, found["id"], {"fixed_ips": fixed}, allow_all
                )
            return _public(found)
        net = self.services.networks.show(ADMIN, network_id)
        values = {
            "network_id": network_id,
            "device_id": device_id,
            "device_owner": "network:dhcp",
            "project_id": net["project_id"],
            "binding:host_id": host,
            "name": str(port.get("name") or ""),
        }
        if port.get("fixed_ips") is not None:
            values["fixed_ips"] = port["fixed_ips"]
        return _public(self.services.ports.create(ADMIN, values, allow_all))

    def release_dhcp_port(self, network_id: str, device_id: str) -> None:
        ports = self.services.ports.list_items(
            ADMIN,
            listing.ListQuery(filters={"network_id": [network_id], "device_id": [device_id]}),
        )
        for port in ports:
            self.services.ports.delete(ADMIN, port["id"], allow_all)

    # -- L3 ----------------------------------------------------------------------------------

    def sync_routers(self, router_ids: list[str] | None) -> list[dict[str, Any]]:
        svc = self.services
        filters: dict[str, list[Any]] = {"id": list(router_ids)} if router_ids else {}
        routers = svc.routers.list_items(ADMIN, listing.ListQuery(filters=filters))
        if not routers:
            return []
        ids = [r["id"] for r in routers]
        ports = svc.ports.list_items(ADMIN, listing.ListQuery(filters={"device_id": ids}))
        subnet_ids = sorted({ip["subnet_id"] for p in ports for ip in p["fixed_ips"]})
        subnets = {
            s["id"]: {k: s.get(k) for k in ROUTER_SUBNET_KEYS}
            for s in svc.subnets.list_items(ADMIN, listing.ListQuery(filters={"id": subnet_ids}))
        }
        fips = svc.floatingips.list_items(ADMIN, listing.ListQuery(filters={"router_id": ids}))
        with self.deps.db.reader() as session:
            mtus = dict(
                session.execute(
                    select(models.Network.id, models.Network.mtu).where(
                        models.Network.id.in_({p["network_id"] for p in ports})
                    )
                ).all()
            )
        for port in ports:
            port["mtu"] = mtus.get(port["network_id"])
        out = []
        for router in routers:
            mine = [p for p in ports if p["device_id"] == router["id"]]
            item = dict(router)
            item["_interfaces"] = [
                self._with_subnets(p, subnets)
                for p in mine
                if p["device_owner"] in INTERFACE_OWNERS
            ]
            gateway = [self._with_subnets(p, subnets) for p in mine if p["device_owner"] == GATEWAY]
            item["gw_port"] = gateway[0] if gateway else None
            item["_floatingips"] = [f for f in fips if f["router_id"] == router["id"]]
            out.append(item)
        return out

    @staticmethod
    def _with_subnets(port: dict[str, Any], subnets: dict[str, dict[str, Any]]) -> dict[str, Any]:
        item = _public(port)
        item["subnets"] = [
            subnets[ip["subnet_id"]] for ip in port["fixed_ips"] if ip["subnet_id"] in subnets
        ]
        return item

    def floatingips_for_host(self, host: str) -> list[dict[str, Any]]:
        with self.deps.db.reader() as session:
            stmt = (
                select(models.FloatingIP)
                .join(models.Port, models.Port.id == models.FloatingIP.port_id)
                .where(models.Port.binding_host_id == host)
            )
            return self.services.floatingips.render(session, session.scalars(stmt).all())

    def ports(self, filters: dict[str, list[Any]]) -> list[dict[str, Any]]:
        query = listing.ListQuery(filters={k: list(v) for k, v in filters.items()})
        return [_public(p) for p in self.services.ports.list_items(ADMIN, query)]

    def tunnels(self, exclude_ip: str | None = None) -> list[dict[str, Any]]:
        """VTEPs (``tunneling_ip`` in their configurations) of the live Linux bridge agents."""
        opts = self.deps.opts
        with self.deps.db.reader() as session:
            rows = session.scalars(
                select(models.Agent).where(models.Agent.agent_type == LINUXBRIDGE_AGENT)
            ).all()
            found = [
                {"ip_address": ip, "host": row.host}
                for row in rows
                if row.admin_state_up
                and alive(opts, row.heartbeat_timestamp)
                and (ip := (row.configurations or {}).get("tunneling_ip"))
                and ip != exclude_ip
            ]
        return sorted(found, key=lambda t: (t["ip_address"], t["host"]))

    def external_network_id(self) -> str | None:
        with self.deps.db.reader() as session:
            ids = session.scalars(
                select(models.Network.id).where(models.Network.external.is_(True))
            ).all()
        return ids[0] if len(ids) == 1 else None

    # -- security groups ---------------------------------------------------------------------

    def security_group_info(self, devices: list[str]) -> dict[str, Any]:
        """Ports, the rules of their groups and the member addresses of remote groups."""
        with self.deps.db.reader() as session:
            ports = [p for p in (find_port(session, d) for d in devices) if p is not None]
            rendered = self.services.ports.render(session, ports, ADMIN)
            group_ids = sorted({g for p in rendered for g in p["security_groups"]})
            stateful = self._stateful(session, group_ids)
            rules = self._rules(session, group_ids, stateful)
            remote = sorted(
                {r["remote_group_id"] for rs in rules.values() for r in rs if r["remote_group_id"]}
            )
            members = self._members(session, remote)
        stateless = {g for g, flag in stateful.items() if not flag}
        found: dict[str, dict[str, Any]] = {}
        for port in rendered:
            device = self._device(port)
            # a port's groups are all stateful or all stateless (the API refuses a mix)
            device["stateful"] = not stateless.intersection(port["security_groups"])
            found[port["id"]] = device
        return {"devices": found, "security_groups": rules, "sg_member_ips": members}

    def security_group_rules(self, devices: list[str]) -> dict[str, Any]:
        """Per port, its groups' rules with remote groups expanded into addresses."""
        info = self.security_group_info(devices)
        out = {}
        for port_id, device in info["devices"].items():
            expanded: list[dict[str, Any]] = []
            for group_id in device["security_groups"]:
                for rule in info["security_groups"].get(group_id, []):
                    expanded.extend(self._expand(rule, info["sg_member_ips"]))
            out[port_id] = {**device, "security_group_rules": expanded}
        return out

    @staticmethod
    def _expand(
        rule: dict[str, Any], members: dict[str, dict[str, list[str]]]
    ) -> list[dict[str, Any]]:
        group = rule.get("remote_group_id")
        if not group:
            return [rule]
        out = []
        for ip in members.get(group, {}).get(rule["ethertype"], []):
            prefix = str(ipaddress.ip_network(ip, strict=False))
            out.append({**rule, "remote_ip_prefix": prefix})
        return out

    @staticmethod
    def _device(port: dict[str, Any]) -> dict[str, Any]:
        return {
            "device": port["id"],
            "port_id": port["id"],
            "network_id": port["network_id"],
            "mac_address": port["mac_address"],
            "fixed_ips": [ip["ip_address"] for ip in port["fixed_ips"]],
            "allowed_address_pairs": port["allowed_address_pairs"],
            "port_security_enabled": port["port_security_enabled"],
            "security_groups": port["security_groups"],
            "device_owner": port["device_owner"],
        }

    @staticmethod
    def _stateful(session: Session, group_ids: list[str]) -> dict[str, bool]:
        if not group_ids:
            return {}
        rows = session.execute(
            select(models.SecurityGroup.id, models.SecurityGroup.stateful).where(
                models.SecurityGroup.id.in_(group_ids)
            )
        ).all()
        return {str(group_id): bool(flag) for group_id, flag in rows}

    @staticmethod
    def _rules(
        session: Session, group_ids: list[str], stateful: dict[str, bool]
    ) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {g: [] for g in group_ids}
        if not group_ids:
            return out
        stmt = select(models.SecurityGroupRule).where(
            models.SecurityGroupRule.security_group_id.in_(group_ids)
        )
        for r in session.scalars(stmt):
            out[r.security_group_id].append(
                {
                    "id": r.id,
                    "security_group_id": r.security_group_id,
                    "direction": r.direction,
                    "ethertype": r.ethertype,
                    "protocol": r.protocol,
                    "port_range_min": r.port_range_min,
                    "port_range_max": r.port_range_max,
                    "remote_ip_prefix": r.remote_ip_prefix,
                    "remote_group_id": r.remote_group_id,
                    "stateful": stateful.get(r.security_group_id, True),
                }
            )
        return out

    @staticmethod
    def _members(session: Session, group_ids: list[str]) -> dict[str, dict[str, list[str]]]:
        out: dict[str, dict[str, list[str]]] = {g: {"IPv4": [], "IPv6": []} for g in group_ids}
        if not group_ids:
            return out
        stmt = (
            select(models.PortSecurityGroup.security_group_id, models.IPAllocation.ip_address)
            .join(
                models.IPAllocation, models.IPAllocation.port_id == models.PortSecurityGroup.port_id
            )
            .where(models.PortSecurityGroup.security_group_id.in_(group_ids))
        )
        for group_id, ip in session.execute(stmt):
            version = ipaddress.ip_address(ip).version
            out[group_id][f"IPv{version}"].append(ip)
        pairs = (
            select(models.PortSecurityGroup.security_group_id, models.Port.allowed_address_pairs)
            .join(models.Port, models.Port.id == models.PortSecurityGroup.port_id)
            .where(models.PortSecurityGroup.security_group_id.in_(group_ids))
        )
        for group_id, allowed in session.execute(pairs):  # members too, as upstream has it
            for pair in allowed or []:
                address = str(pair.get("ip_address") or "")
                if address:
                    version = ipaddress.ip_network(address, strict=False).version
                    out[group_id][f"IPv{version}"].append(address)
        for entry in out.values():
            entry["IPv4"] = sorted(set(entry["IPv4"]))
            entry["IPv6"] = sorted(set(entry["IPv6"]))
        return out
