"""The Linux bridge agent: a bridge per network, taps plugged into it, security groups.

For every ``tap*`` device that appears on the host (a guest's tap, or the host end of
a DHCP or router veth) the agent asks the service for the port
(``get_devices_details_list``), makes the network's bridge ``brq<net[:11]>`` with its
segment device (``vxlan-<vni>`` with head-end replication to the other hosts' VTEPs, a
VLAN subinterface or the flat interface of the physical network), plugs the tap in,
writes the security group chains and reports the port up. Taps that vanish are reported
down; bridges without taps are removed. What it created is recorded in a state file, so
a restarted agent adopts it and removes only its own leftovers.
"""

from __future__ import annotations

import ipaddress
import logging
import zlib
from dataclasses import dataclass
from typing import Any

from tinystack.common.rpc.payload import JSON
from tinystack.network.agents import arp_protect, conntrack, iptables, qos
from tinystack.network.agents.base import Agent, AgentContext, JsonState, LinkWatcher
from tinystack.network.agents.firewall import FilteredPort, FirewallRules, trusted
from tinystack.network.agents.ip_lib import CommandError
from tinystack.network.payloads import (
    DeviceDetails,
    PortChange,
    QosLimits,
    SecurityGroupInfo,
    Tunnel,
)
from tinystack.network.rpcapi import (
    L2_AGENT_TOPIC,
    LINUXBRIDGE_AGENT,
    L2AgentEndpoint,
    L2AgentHandler,
)

LOG = logging.getLogger(__name__)


def parse_mappings(entries: list[str]) -> dict[str, str]:
    out = {}
    for entry in entries:
        key, sep, value = entry.strip().partition(":")
        if sep and key and value:
            out[key.strip()] = value.strip()
    return out


def vlan_device(parent: str, vid: int) -> str:
    suffix = f".{vid}"
    return parent[: 15 - len(suffix)] + suffix


@dataclass
class Device:
    port_id: str
    network_id: str
    bridge: str
    filtered: bool
    admin_up: bool
    signature: tuple[object, ...]


class L2Handler(L2AgentHandler):
    def __init__(self, agent: LinuxBridgeAgent) -> None:
        self.agent = agent

    def port_update(self, port: PortChange) -> None:
        self.agent.mark_port(port.id, list(port.security_groups))

    def port_delete(self, port_id: str, network_id: str) -> None:
        self.agent.mark_deleted(port_id)

    def network_update(self, network_id: str) -> None:
        self.agent.mark_network(network_id)

    def network_delete(self, network_id: str) -> None:
        self.agent.mark_network(network_id, deleted=True)

    def security_groups_changed(self, security_groups: list[str]) -> None:
        self.agent.mark_firewall()

    def tunnel_update(self, tunnel: Tunnel, tunnel_type: str) -> None:
        self.agent.add_peer(tunnel.ip_address)


class LinuxBridgeAgent(Agent):
    agent_type = LINUXBRIDGE_AGENT
    binary = "tinystack-linuxbridge-agent"
    topic = L2_AGENT_TOPIC

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        self.ip = ctx.ip
        opts = ctx.opts
        self.bridge_mappings = parse_mappings(list(opts.bridge_mappings))
        self.interface_mappings = parse_mappings(list(opts.physical_interface_mappings))
        self.local_ip = str(opts.local_ip or "")
        self.poll_interval = 2.0
        self.state = JsonState(ctx.state_dir / "l2-agent.json")
        self.state.data.setdefault("networks", {})
        self.state.data.setdefault("physical", {})
        self.state.data.setdefault("zones", {})
        self.chains = iptables.ChainSet(ctx.chain_prefix, ctx.namespace)
        self.rules = FirewallRules(self.chains)
        #: the rules each port's chains last held (to end connections a rule no longer allows)
        self.port_rules: dict[conntrack.FlowKey, frozenset[str]] = {}
        self.arp_table = arp_protect.table_name(ctx.chain_prefix)
        self.arp_script = ""
        self.has_nft = arp_protect.available()
        if not self.has_nft:
            LOG.warning("nft not found (package nftables): no ARP anti-spoofing")
        self.devices: dict[str, Device] = {}
        self.qos_table = qos.table_name(ctx.chain_prefix)
        #: the QoS limits of each wired tap, and the egress table last written
        self.qos_limits: dict[str, QosLimits] = {}
        self.qos_script = ""
        self.ignored: set[str] = set()
        self.peers: set[str] = set()
        self.remote_groups: set[str] = set()
        self._updated: set[str] = set()
        self._deleted: set[str] = set()
        self._networks: set[str] = set()
        self._deleted_networks: set[str] = set()
        self._firewall_dirty = False
        self._fdb_dirty = True
        self.watcher = LinkWatcher(ctx.namespace, self.wake)

    def endpoints(self) -> list[object]:
        return [L2AgentEndpoint(L2Handler(self))]

    def start(self) -> None:
        self.watcher.start()
        super().start()

    def stop(self) -> None:
        super().stop()
        self.watcher.stop()

    # -- events (RPC threads) ------------------------------------------------------------

    def mark_port(self, port_id: str, groups: list[str]) -> None:
        with self.lock:
            self._updated.add(port_id)
            if self.remote_groups.intersection(groups):
                self._firewall_dirty = True
        self.wake()

    def mark_deleted(self, port_id: str) -> None:
        with self.lock:
            self._deleted.add(port_id)
            if self.remote_groups:
                self._firewall_dirty = True
        self.wake()

    def mark_network(self, network_id: str, deleted: bool = False) -> None:
        with self.lock:
            (self._deleted_networks if deleted else self._networks).add(network_id)
        self.wake()

    def mark_firewall(self) -> None:
        with self.lock:
            self._firewall_dirty = True
        self.wake()

    def add_peer(self, ip: str) -> None:
        if not ip or ip == self.local_ip:
            return
        with self.lock:
            if ip not in self.peers:
                self.peers.add(ip)
                self._fdb_dirty = True
        self.wake()

    # -- heartbeat -----------------------------------------------------------------------

    def configurations(self) -> dict[str, JSON]:
        conf: dict[str, JSON] = {
            "bridge_mappings": dict(self.bridge_mappings),
            "interface_mappings": dict(self.interface_mappings),
            "tunnel_types": ["vxlan"],
            "devices": len(self.devices),
            "l2_population": False,
            "firewall_driver": "iptables",
        }
        if self.local_ip:
            conf["tunneling_ip"] = self.local_ip
        return conf

    def after_report(self) -> None:
        if not self.local_ip:
            return
        found = self.plugin.tunnel_sync({}, self.local_ip, "vxlan", self.host)
        peers = {t.ip_address for t in found.tunnels if t.ip_address}
        peers.discard(self.local_ip)
        with self.lock:
            if peers != self.peers:
                self.peers = peers
                self._fdb_dirty = True
        self.wake()

    # -- the loop ------------------------------------------------------------------------

    def process(self, full: bool) -> None:
        with self.lock:
            updated, self._updated = self._updated, set()
            deleted, self._deleted = self._deleted, set()
            networks, self._networks = self._networks, set()
            gone_nets, self._deleted_networks = self._deleted_networks, set()
            firewall_dirty, self._firewall_dirty = self._firewall_dirty or full, False
            fdb_dirty, self._fdb_dirty = self._fdb_dirty or full, False
        if full:
            self._ensure_physical()
            self.ignored.clear()
        masters = self.ip.link_masters("tap")
        current = set(masters)
        prefixes = {p[:11] for p in updated}
        removed = set(self.devices) - current
        for port_id in deleted:
            dev = "tap" + port_id[:11]
            if dev in self.devices and dev in current:
                self._unplug(dev)
            if self.devices.pop(dev, None) is not None:
                firewall_dirty = True
            current.discard(dev)
        refresh = {d for d in current if d[3:] in prefixes}
        refresh |= {d for d, dev in self.devices.items() if dev.network_id in networks}
        refresh |= self._unbridged(masters)
        if full:
            fetch = set(current)
        else:
            fetch = (current - set(self.devices) - self.ignored) | (refresh & current)
        up, down, changed = self._wire_devices(sorted(fetch), deleted)
        firewall_dirty = firewall_dirty or changed or bool(removed)
        for dev in removed:
            if self.devices.pop(dev, None) is not None:
                down.append(dev)
        if self._remove_networks(gone_nets, force=True):
            firewall_dirty = True
        if (full or removed or deleted) and self._remove_networks(
            set(self.state.data["networks"]), force=False
        ):
            firewall_dirty = True
        self._sync_qos()  # before the firewall: a limit waits for no iptables restore
        if firewall_dirty:
            self._refresh_firewall()
        for dev in up:
            self.plugin.update_device_up({}, dev, self.agent_id, self.host)
        for dev in down:
            try:
                self.plugin.update_device_down({}, dev, self.agent_id, self.host)
            except Exception:  # the port may be gone already
                LOG.debug("update_device_down %s failed", dev, exc_info=True)
        if fdb_dirty:
            self._sync_fdb()

    def _unbridged(self, masters: dict[str, str | None]) -> set[str]:
        """The wired taps out of their bridge: deleted and made again under the same name
        between two passes (a guest's QEMU started anew, as on a rebuild), which the list
        of names does not tell; left so, the guest's DHCP went unanswered until the next
        full resync. Their ingress limits went with the old device."""
        found = {d for d, dev in self.devices.items() if d in masters and masters[d] != dev.bridge}
        for dev in found:
            self.qos_limits.pop(dev, None)
        return found

    def _wire_devices(
        self, fetch: list[str], deleted: set[str]
    ) -> tuple[list[str], list[str], bool]:
        """Wire the devices; (reported up, reported down, whether the set changed)."""
        up: list[str] = []
        down: list[str] = []
        changed = False
        if not fetch:
            return up, down, changed
        details = self.plugin.get_devices_details_list({}, fetch, self.agent_id, self.host)
        for item in details:
            dev = item.device
            if not item.exists or item.port_id in deleted:
                self.ignored.add(dev)
                if self.devices.pop(dev, None) is not None:
                    self._unplug(dev)
                    changed = True
                continue
            self.ignored.discard(dev)
            try:
                device = self._wire(dev, item)
            except (CommandError, ValueError) as exc:
                LOG.error("cannot wire %s (port %s): %s", dev, item.port_id, exc)
                continue
            old = self.devices.get(dev)
            self.devices[dev] = device
            settled = item.status == ("ACTIVE" if device.admin_up else "DOWN")
            if old is not None and old.signature == device.signature and settled:
                continue
            (up if device.admin_up else down).append(dev)
            changed = True
        return up, down, changed

    # -- wiring --------------------------------------------------------------------------

    def _wire(self, dev: str, item: DeviceDetails) -> Device:
        bridge = self._ensure_network(item)
        admin_up = item.admin_state_up
        mtu = item.mtu
        if self.ip.master_of(dev) != bridge:
            self.ip.disable_ipv6(dev)
            self.ip.set_link(dev, master=bridge, mtu=mtu, up=admin_up)
        else:
            self.ip.set_link(dev, mtu=mtu, up=admin_up)
        filtered = item.port_security_enabled and not trusted(item.device_owner)
        # what the firewall and the port's status follow; a QoS change is applied on its
        # own (_set_qos, _sync_qos) and refreshes no firewall
        signature = (
            item.network_id,
            admin_up,
            filtered,
            mtu,
            item.mac_address,
            tuple(ip.ip_address for ip in item.fixed_ips),
            tuple(sorted(item.security_groups)),
            item.allowed_address_pairs,
        )
        self._set_qos(dev, item.qos)
        return Device(item.port_id, item.network_id, bridge, filtered, admin_up, signature)

    def _set_qos(self, dev: str, limits: QosLimits) -> None:
        if self.qos_limits.get(dev, QosLimits()) == limits and self.qos_script:
            return
        qos.set_ingress(self.ctx.namespace, dev, limits)
        self.qos_limits[dev] = limits

    def _sync_qos(self) -> None:
        """The egress limits table, rewritten when the wired taps' limits changed."""
        for dev in set(self.qos_limits) - set(self.devices):
            del self.qos_limits[dev]
        if not self.has_nft:
            return
        script = qos.render(self.qos_table, self.qos_limits)
        if script != self.qos_script:
            try:
                qos.apply(self.ctx.namespace, script)
            except CommandError as exc:
                LOG.error("cannot apply QoS limits: %s", exc)
                return
            self.qos_script = script

    def _unplug(self, dev: str) -> None:
        try:
            self.ip.set_link(dev, nomaster=True, up=False)
        except CommandError:
            LOG.debug("cannot unplug %s", dev, exc_info=True)

    def _ensure_network(self, item: DeviceDetails) -> str:
        net = item.network_id
        bridge = item.bridge_name or "brq" + net[:11]
        kind = item.network_type or "local"
        seg = int(item.segmentation_id or 0)
        mtu = item.mtu
        segment_dev: str | None = None
        parent = ""
        if kind == "vxlan" and self.local_ip:
            segment_dev = f"vxlan-{seg}"
        elif kind in ("vlan", "flat"):
            parent = self._physical_interface(item.physical_network or "")
            segment_dev = vlan_device(parent, seg) if kind == "vlan" else parent
        elif kind not in ("local", "vxlan"):
            raise ValueError(f"network type {kind} is not supported")
        if not self.ip.exists(bridge):
            self.ip.add_bridge(bridge, mtu)
        if segment_dev is not None:
            if not self.ip.exists(segment_dev):
                if kind == "vxlan":
                    port = int(self.opts.vxlan_udp_port)
                    self.ip.add_vxlan(segment_dev, seg, self.local_ip, port, mtu)
                    for peer in sorted(self.peers):
                        self.ip.flood_to(segment_dev, peer)
                else:
                    self.ip.add_vlan(segment_dev, parent, seg, mtu)
            if self.ip.master_of(segment_dev) != bridge:
                self.ip.set_link(segment_dev, master=bridge, up=True)
        record = {"bridge": bridge, "type": kind, "device": segment_dev}
        if self.state.data["networks"].get(net) != record:
            self.state.data["networks"][net] = record
            self._zone(net)
            self.state.save()
        return bridge

    def _physical_interface(self, physnet: str) -> str:
        if physnet in self.interface_mappings:
            return self.interface_mappings[physnet]
        if physnet in self.bridge_mappings:
            return self._ensure_physical_bridge(physnet)
        raise ValueError(f"physical network {physnet!r} is not mapped on {self.host}")

    def _trunk_names(self, physnet: str) -> tuple[str, str]:
        """The veth into a physnet's bridge, named per cloud (clouds may share a bridge)."""
        base = f"{self.chains.prefix}{zlib.crc32(physnet.encode()) & 0xFFFF:04x}"
        return base + "b", base + "t"

    def _ensure_physical_bridge(self, physnet: str) -> str:
        """The physnet's bridge (made if missing) and a veth into it; returns the trunk."""
        bridge = self.bridge_mappings[physnet]
        patch, trunk = self._trunk_names(physnet)
        record = self.state.data["physical"].get(physnet) or {}
        if not self.ip.exists(bridge):
            self.ip.add_bridge(bridge)
            record["created_bridge"] = True
        if not self.ip.exists(trunk):
            self.ip.add_veth(trunk, patch)
            self.ip.disable_ipv6(trunk)
            self.ip.disable_ipv6(patch)
            self.ip.set_link(patch, master=bridge, up=True)
            self.ip.set_link(trunk, up=True)
        record.update({"bridge": bridge, "trunk": trunk, "patch": patch})
        self._public_access(physnet, bridge)
        if self.state.data["physical"].get(physnet) != record:
            self.state.data["physical"][physnet] = record
            self.state.save()
        return trunk

    def _public_access(self, physnet: str, bridge: str) -> None:
        """Optionally put the host on the public network (and NAT it out; never in tests)."""
        address = str(self.opts.public_bridge_address or "")
        if not address or physnet != self.opts.public_physical_network:
            return
        if address not in self.ip.addresses(bridge):
            self.ip.replace_address(bridge, address)
        uplink = str(self.opts.public_nat_interface or "")
        if not uplink:
            return
        cidr = str(ipaddress.ip_interface(address).network)
        self.ip.write_proc("/proc/sys/net/ipv4/ip_forward", "1")
        nat = iptables.ChainSet(self.ctx.chain_prefix + "N", self.ctx.namespace, False)
        chain = nat.chain("OUT")
        nat.apply(
            {
                4: {
                    "nat": iptables.TableState(
                        chains={chain: [f"-s {cidr} -o {uplink} -j MASQUERADE"]},
                        jumps=[("POSTROUTING", f"-j {chain}")],
                    )
                }
            }
        )

    def _ensure_physical(self) -> None:
        for physnet in self.bridge_mappings:
            try:
                self._ensure_physical_bridge(physnet)
            except CommandError:
                LOG.exception("cannot set up the bridge of physical network %s", physnet)

    def _zone(self, net: str) -> int:
        zones: dict[str, int] = self.state.data["zones"]
        if net not in zones:
            base = 1 + zlib.crc32(self.chains.prefix.encode()) % 16 * 4000
            used = set(zones.values())
            zones[net] = next(z for z in range(base, base + 4000) if z not in used)
        return zones[net]

    def _remove_networks(self, nets: set[str], force: bool) -> bool:
        """Remove the bridges of ``nets`` (only unused ones unless ``force``); any removed?"""
        networks: dict[str, dict[str, Any]] = self.state.data["networks"]
        changed = False
        for net in sorted(nets):
            record = networks.get(net)
            if record is None:
                continue
            if any(d.network_id == net for d in self.devices.values()) and not force:
                continue
            bridge = record["bridge"]
            ports = self.ip.bridge_ports(bridge)
            if not force and any(p.startswith("tap") for p in ports):
                continue
            for dev in ports:
                if dev.startswith("tap"):
                    self._unplug(dev)
            if record.get("type") in ("vxlan", "vlan") and record.get("device"):
                self.ip.delete_link(record["device"])
            self.ip.delete_link(bridge)
            del networks[net]
            self.state.data["zones"].pop(net, None)
            for dev in [d for d, x in self.devices.items() if x.network_id == net]:
                del self.devices[dev]
            changed = True
        if changed:
            self.state.save()
        return changed

    def _sync_fdb(self) -> None:
        with self.lock:
            peers = set(self.peers)
        for record in self.state.data["networks"].values():
            if record.get("type") != "vxlan" or not record.get("device"):
                continue
            dev = record["device"]
            if not self.ip.exists(dev):
                continue
            have = self.ip.flood_destinations(dev)
            for peer in sorted(peers - have):
                self.ip.flood_to(dev, peer)
            for peer in sorted(have - peers):
                self.ip.unflood(dev, peer)

    # -- security groups -----------------------------------------------------------------

    def _refresh_firewall(self) -> None:
        filtered = {d.port_id: dev for dev, d in self.devices.items() if d.filtered}
        info = SecurityGroupInfo()
        if filtered:
            info = self.plugin.security_group_info_for_devices({}, sorted(filtered))
        ports: list[FilteredPort] = []
        for port_id, dev in filtered.items():
            found = info.devices.get(port_id)
            if found is None:
                continue
            ports.append(
                FilteredPort(
                    port_id=port_id,
                    device=dev,
                    network_id=found.network_id,
                    mac=found.mac_address,
                    fixed_ips=list(found.fixed_ips),
                    allowed_address_pairs=list(found.allowed_address_pairs),
                    security_groups=list(found.security_groups),
                    filtered=found.port_security_enabled,
                    stateful=found.stateful,
                )
            )
        for dev, device in self.devices.items():
            if not device.filtered:
                ports.append(
                    FilteredPort(device.port_id, dev, device.network_id, "", [], filtered=False)
                )
        zones = {net: self._zone(net) for net in self.state.data["networks"]}
        groups = info.security_groups
        desired = self.rules.build(ports, groups, info.sg_member_ips, zones)
        self.chains.apply(desired)
        if self.has_nft:
            script = arp_protect.render(self.arp_table, ports)
            if script != self.arp_script:
                arp_protect.apply(self.ctx.namespace, self.arp_table, ports)
                self.arp_script = script
        rules = conntrack.port_rules(desired, ports, self.chains.chain)
        revoked = conntrack.revoked(self.port_rules, rules)
        self.port_rules = rules
        if revoked:
            ended = conntrack.forget_revoked(self.ctx.namespace, revoked, ports, zones)
            LOG.debug("%d connections ended by removed security group rules", ended)
        self.remote_groups = {
            r.remote_group_id for rules in groups.values() for r in rules if r.remote_group_id
        }

    # -- teardown ------------------------------------------------------------------------

    def cleanup(self) -> None:
        """Remove bridges, segment devices, physical bridges and chains this agent made."""
        self.devices.clear()
        self._remove_networks(set(self.state.data["networks"]), force=True)
        for record in self.state.data["physical"].values():
            self.ip.delete_link(record["trunk"])
            if record.get("created_bridge") and not self.ip.bridge_ports(record["bridge"]):
                self.ip.delete_link(record["bridge"])
        self.state.data["physical"] = {}
        self.state.save()
        self.chains.remove_all()
        iptables.ChainSet(self.ctx.chain_prefix + "N", self.ctx.namespace).remove_all()
        if self.has_nft:
            arp_protect.remove(self.ctx.namespace, self.arp_table)
            qos.remove(self.ctx.namespace, self.qos_table)
        self.arp_script = ""
        self.qos_script = ""
        self.qos_limits.clear()
