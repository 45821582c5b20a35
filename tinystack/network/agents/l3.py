"""The L3 agent: a ``qrouter-<router>`` namespace per router.

Each router interface is a veth ``tap<port>``/``qr-<port>`` (the L2 agent wires the host
end into the tenant bridge) holding the subnet's gateway address; the external gateway
is ``tap<port>``/``qg-<port>`` on the external network's bridge with the router's
external address, its floating IPs (/32) and a default route to the external subnet's
gateway. Forwarding is enabled inside the namespace only. The nat table of the
namespace is rewritten as a whole on every change: SNAT of the internal subnets out of
``qg-`` (``enable_snat``), a DNAT/SNAT pair per floating IP, hairpin SNAT (a floating
IP reached from inside is answered through the router: packets not marked as coming
in on ``qg-`` that were DNATed leave with the gateway address), and the REDIRECT of
169.254.169.254:80 to the metadata proxy, and the DNAT of floating IP port forwardings
(a floating IP with forwardings is on ``qg-`` too; a port range maps onto one port or,
port by port, onto a range of the same length: ``--to-destination ip:a-b/base``).
Removing a floating IP deletes the tracked connections to it (:mod:`conntrack`).
FWaaS firewall groups on the interfaces are ``fwaas-`` chains of the filter table
(:mod:`fwaas`; a change ends the tracked connections the chains now refuse), written
with the ``meter-`` chains that count the router's metering labels on ``qg-``
(:mod:`metering`; their counters go out as ``l3.meter`` notifications every
``metering_report_interval``). Extra routes are kernel routes with ``proto static``. New
external addresses are announced with gratuitous ARP.

IPv6: a ``qr-`` interface holds its IPv6 subnets' gateway addresses too, and the IPv6
subnets with ``ipv6_ra_mode`` are advertised by a radvd per router (:mod:`radvd`; skipped
with a warning when radvd is not installed). An IPv6 subnet on the external network
gives ``qg-`` its address and the router an IPv6 default route. IPv6 is routed without
NAT; floating IPs are IPv4 only.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from pyroute2.netlink.exceptions import NetlinkError

from tinystack.common.notifier import Notifier
from tinystack.common.rpc.payload import JSON
from tinystack.network.agents import conntrack, fwaas, ip_lib, iptables, metering, radvd
from tinystack.network.agents.base import Agent, AgentContext
from tinystack.network.agents.ip_lib import CommandError, IpLib, Reaper
from tinystack.network.agents.metadata import ProxyProcess
from tinystack.network.payloads import (
    FirewallGroupStatuses,
    FloatingIP,
    FloatingIPStatuses,
    Forwarding,
    RouterInfo,
    RouterPort,
    Subnet,
)
from tinystack.network.rpcapi import L3_AGENT, L3_AGENT_TOPIC, L3AgentEndpoint, L3AgentHandler

LOG = logging.getLogger(__name__)
METADATA_IP = "169.254.169.254"
#: marks packets that came in through the gateway (qg-) interface, as upstream's 0x2
EXTERNAL_MARK = "0x2/0xffff"


class L3Handler(L3AgentHandler):
    def __init__(self, agent: L3Agent) -> None:
        self.agent = agent

    def routers_updated(self, routers: list[str]) -> None:
        self.agent.mark(routers)

    def router_deleted(self, router_id: str) -> None:
        self.agent.mark([router_id], deleted=True)


@dataclass(frozen=True)
class ConfiguredRouter:
    """What the agent set up for a router (reported in heartbeats, diffed on updates)."""

    addresses: list[str]  # floating IPs held
    networks: list[str]  # networks of its interfaces
    floatingips: list[str]
    gateway: bool


def _cidrs(port: RouterPort) -> list[str]:
    """The port's addresses with the prefix length of their subnets."""
    prefixes = {s.id: ipaddress.ip_network(s.cidr).prefixlen for s in port.subnets}
    return [
        f"{ip.ip_address}/{prefixes[ip.subnet_id]}"
        for ip in port.fixed_ips
        if ip.subnet_id in prefixes
    ]


class L3Agent(Agent):
    agent_type = L3_AGENT
    binary = "tinystack-l3-agent"
    topic = L3_AGENT_TOPIC

    def __init__(self, ctx: AgentContext, metadata_socket: Path | None = None) -> None:
        super().__init__(ctx)
        self.prefix = str(ctx.opts.router_namespace_prefix)
        self.root = ctx.state_dir / "l3"
        self.metadata_socket = metadata_socket
        self.routers: dict[str, ConfiguredRouter] = {}
        self.reaper = Reaper()
        self._dirty: set[str] = set()
        self._deleted: set[str] = set()
        #: routers known to hold no firewall chains (skips writing empty tables)
        self._no_firewall: set[str] = set()
        #: what was applied of each router: a change of its firewalls only skips the rest
        self._applied: dict[str, RouterInfo] = {}
        #: the firewall chains applied to each router since the agent started
        self._chains: dict[str, fwaas.Chains] = {}
        notifier = Notifier(lambda: ctx.transport, f"metering.{ctx.host}")
        self.meter = metering.Meter(ctx.host, lambda event, body: notifier.info(None, event, body))
        self.meter_interval = float(ctx.opts.metering_report_interval)
        self.poll_interval = min(self.poll_interval, self.meter_interval)
        self._next_meter = time.monotonic() + self.meter_interval
        self.has_radvd = radvd.available()
        if not self.has_radvd:
            LOG.warning("radvd not found: routers send no IPv6 router advertisements")

    def endpoints(self) -> list[object]:
        return [L3AgentEndpoint(L3Handler(self))]

    def mark(self, router_ids: list[str], deleted: bool = False) -> None:
        with self.lock:
            (self._deleted if deleted else self._dirty).update(router_ids)
        self.wake()

    def configurations(self) -> dict[str, JSON]:
        return {
            "agent_mode": "legacy",
            "routers": len(self.routers),
            "floating_ips": sum(len(r.floatingips) for r in self.routers.values()),
            "interfaces": sum(len(r.networks) for r in self.routers.values()),
            "ex_gw_ports": sum(1 for r in self.routers.values() if r.gateway),
            "metadata_proxy": self.metadata_socket is not None,
        }

    def networks_of(self, router_id: str) -> list[str] | None:
        found = self.routers.get(router_id)
        return list(found.networks) if found else None

    # -- loop ----------------------------------------------------------------------------

    def process(self, full: bool) -> None:
        if time.monotonic() >= self._next_meter:
            self._next_meter = time.monotonic() + self.meter_interval
            applied = self.meter.applied
            self.meter.report({rid: self.prefix + rid for rid in applied if applied[rid]})
        with self.lock:
            dirty, self._dirty = self._dirty, set()
            deleted, self._deleted = self._deleted, set()
        for rid in deleted:
            self.teardown(rid)
        if full:
            routers = self.plugin.sync_routers({}, self.host)
            wanted = {r.id for r in routers}
            for rid in self._existing() - wanted:
                self.teardown(rid)
        elif dirty - deleted:
            routers = self.plugin.sync_routers({}, self.host, sorted(dirty - deleted))
            for rid in (dirty - deleted) - {r.id for r in routers}:
                self.teardown(rid)
        else:
            return
        for router in routers:
            try:
                if not full and self._only_firewall_changed(router):
                    self._firewall(self.prefix + router.id, router)
                else:
                    self.configure(router)
                self._applied[router.id] = router
            except (CommandError, OSError):
                LOG.exception("cannot configure router %s", router.id)
                with self.lock:
                    self._dirty.add(router.id)

    def _only_firewall_changed(self, router: RouterInfo) -> bool:
        """Whether the router is as last applied but for its firewall groups and metering
        labels (a rule change then rewrites only the filter tables: well under the 500 ms
        it may take)."""
        before = self._applied.get(router.id)
        if before is None:
            return False
        return dataclasses.replace(before, firewalls=(), metering_labels=()) == dataclasses.replace(
            router, firewalls=(), metering_labels=()
        )

    def _existing(self) -> set[str]:
        found = {n[len(self.prefix) :] for n in ip_lib.netns_list() if n.startswith(self.prefix)}
        if self.root.exists():
            found |= {p.name for p in self.root.iterdir() if p.is_dir()}
        return found | set(self.routers)

    # -- one router ----------------------------------------------------------------------

    def configure(self, router: RouterInfo) -> None:
        rid = router.id
        # an administratively down router keeps its ports plugged (they are ACTIVE, as
        # upstream reports them) but forwards nothing: its interfaces are down inside
        # the namespace, forwarding is off, no advertisements, no metadata proxy
        admin_up = router.admin_state_up
        ns = self.prefix + rid
        ip_lib.netns_add(ns)
        nsip = IpLib(ns)
        forwarding = "1" if admin_up else "0"
        nsip.write_proc("/proc/sys/net/ipv4/ip_forward", forwarding)
        nsip.write_proc("/proc/sys/net/ipv6/conf/all/forwarding", forwarding)
        wanted_devs: set[str] = set()
        internal: list[tuple[str, str]] = []  # (qr device, cidr)
        advertised: list[radvd.RaInterface] = []
        for port in router.interfaces:
            dev = "qr-" + port.id[:11]
            wanted_devs.add(dev)
            self._plug(port, dev, ns, admin_up)
            nsip.sync_addresses(dev, _cidrs(port))
            internal += [(dev, s.cidr) for s in port.subnets]
            advertised.append(radvd.RaInterface(dev, port.mtu or 1500, list(port.subnets)))
        gw = router.gw_port
        fips = [f for f in router.floatingips if f.port_id]
        announce: list[tuple[str, str]] = []
        gw_dev = None
        gw_ips: list[str] = []
        if gw:
            gw_dev = "qg-" + gw.id[:11]
            wanted_devs.add(gw_dev)
            self._plug(gw, gw_dev, ns, admin_up)
            addrs = _cidrs(gw)
            gw_ips = [a.split("/")[0] for a in addrs if ":" not in a]
            forwarded = {f.floating_ip_address for f in router.port_forwardings}
            addrs += [f"{a}/32" for a in sorted({f.floating_ip_address for f in fips} | forwarded)]
            added = nsip.sync_addresses(gw_dev, addrs)
            announce = [(gw_dev, a.split("/")[0]) for a in added if ":" not in a]
        for name in nsip.link_names():
            if name.startswith(("qr-", "qg-")) and name not in wanted_devs:
                nsip.delete_link(name)
        if admin_up:  # routes through down links cannot be added (nor are they used)
            self._routes(nsip, router, gw, gw_dev)
        if self.has_radvd:
            self._radvd(rid).update(advertised if admin_up else [], self.reaper)
        self._nat(ns, router, gw_dev, gw_ips, internal, fips)
        self._firewall(ns, router)
        if self.metadata_socket is not None and internal and admin_up:
            self._ensure_proxy(rid, ns)
        else:
            self._stop_proxy(rid)
        for dev, address in announce if admin_up else []:
            self._garp(ns, dev, address)
        self._report_fips(rid, router.floatingips, admin_up)
        previous = self.routers.get(rid)
        before = set(previous.addresses) if previous is not None else set()
        current = {f.floating_ip_address for f in fips}
        current |= {f.floating_ip_address for f in router.port_forwardings}
        for address in sorted(before - current):
            self._forget_connections(ns, address)
        self.routers[rid] = ConfiguredRouter(
            addresses=sorted(current),
            networks=sorted({p.network_id for p in router.interfaces}),
            floatingips=[f.id for f in fips],
            gateway=gw is not None,
        )

    def _plug(self, port: RouterPort, dev: str, ns: str, up: bool = True) -> None:
        nsip = IpLib(ns)
        mtu = port.mtu or 1500
        if nsip.exists(dev):
            nsip.set_link(dev, up=up)
            return
        tap = "tap" + port.id[:11]
        if self.ctx.ip.exists(tap):
            self.ctx.ip.delete_link(tap)
        self.ctx.ip.add_veth(tap, dev, ns, mtu=mtu, peer_mac=port.mac_address)
        self.ctx.ip.disable_ipv6(tap)
        self.ctx.ip.set_link(tap, up=True)
        nsip.set_link(dev, up=up)

    def _routes(
        self, nsip: IpLib, router: RouterInfo, gw: RouterPort | None, gw_dev: str | None
    ) -> None:
        for version, default in ((4, "0.0.0.0/0"), (6, "::/0")):
            gateway = None
            if gw and gw_dev:
                gateway = _gateway(gw.subnets, version)
            if gateway:
                nsip.route_replace(default, gateway, "dev", str(gw_dev))
            elif any(r.get("dst") == "default" for r in nsip.routes(version=version)):
                nsip.route_delete(default)
        wanted = {_route_key(r.destination, r.nexthop) for r in router.routes}
        have = set()
        for version in (4, 6):
            for route in nsip.routes("proto", "static", version=version):
                dst = str(route.get("dst", ""))
                dst = ("0.0.0.0/0" if version == 4 else "::/0") if dst == "default" else dst
                key = _route_key(dst, str(route.get("gateway") or ""))
                if key in wanted:
                    have.add(key)
                else:
                    nsip.route_delete(key[0], "proto", "static")
        for dest, hop in sorted(wanted - have):
            nsip.route_replace(dest, hop, "proto", "static")

    def _nat(
        self,
        ns: str,
        router: RouterInfo,
        gw_dev: str | None,
        gw_ips: list[str],
        internal: list[tuple[str, str]],
        fips: list[FloatingIP],
    ) -> None:
        pre: list[str] = []
        out: list[str] = []
        post: list[str] = []
        mangle: list[str] = []
        if self.metadata_socket is not None:
            pre.append(
                f"-d {METADATA_IP}/32 -i qr-+ -p tcp -m tcp --dport 80 "
                f"-j REDIRECT --to-ports {int(self.opts.metadata_port)}"
            )
        if gw_dev:
            for fip in sorted(fips, key=lambda f: f.floating_ip_address):
                floating, fixed = fip.floating_ip_address, fip.fixed_ip_address
                pre.append(f"-d {floating}/32 -j DNAT --to-destination {fixed}")
                out.append(f"-d {floating}/32 -j DNAT --to-destination {fixed}")
                post.append(f"-s {fixed}/32 -o {gw_dev} -j SNAT --to-source {floating}")
            pre += forwarding_rules(router.port_forwardings)
            out += forwarding_rules(router.port_forwardings)
            if router.enable_snat and gw_ips:
                for _dev, cidr in sorted(set(internal)):
                    if ipaddress.ip_network(cidr).version == 4:
                        post.append(f"-s {cidr} -o {gw_dev} -j SNAT --to-source {gw_ips[0]}")
            if fips and gw_ips:
                # hairpin: a floating IP reached from an internal network is translated
                # back in there; the source becomes the gateway address, so the answer
                # comes back through the router rather than straight from the neighbour
                mangle.append(f"-i {gw_dev} -j MARK --set-xmark {EXTERNAL_MARK}")
                post.append(
                    f"-m mark ! --mark {EXTERNAL_MARK} -m conntrack --ctstate DNAT "
                    f"-j SNAT --to-source {gw_ips[0]}"
                )
        tables = {
            "nat": {"PREROUTING": pre, "OUTPUT": out, "POSTROUTING": post},
            "mangle": {"PREROUTING": mangle},
        }
        iptables.restore_tables(ns, 4, tables)

    def _firewall(self, ns: str, router: RouterInfo) -> None:
        """The filter table: FWaaS chains of the router's interfaces (:mod:`fwaas`) and
        metering chains of its gateway (:mod:`metering`, whose counters are collected
        first: the rewrite resets them); the groups' statuses back to the service when
        they change."""
        labels = router.metering_labels
        if not router.firewalls and not labels and router.id in self._no_firewall:
            return
        gw_dev = "qg-" + router.gw_port.id[:11] if router.gw_port else None
        other = {f: metering.table_state(labels, gw_dev, f) for f in iptables.FAMILIES}
        self.meter.collect(router.id, ns)
        applied = fwaas.apply(ns, router.firewalls, other)
        chains = fwaas.chains_of(router.firewalls)
        if chains and chains != self._chains.get(router.id):
            ended = fwaas.end_refused(ns, router)
            LOG.debug("%d connections of router %s ended by its firewall", ended, router.id)
        self._chains[router.id] = chains
        self.meter.applied[router.id] = labels if gw_dev else ()
        if router.firewalls or labels:
            self._no_firewall.discard(router.id)
        else:
            self._no_firewall.add(router.id)
        had = {fw.group_id: fw.status for fw in router.firewalls}
        changed = {g: s for g, s in applied.items() if had.get(g) != s}
        if changed:
            self.plugin.set_firewall_group_statuses({}, FirewallGroupStatuses(changed))

    def _garp(self, ns: str, dev: str, address: str) -> None:
        if shutil.which("arping") and not _is_busybox("arping"):
            cmd = ["arping", "-U", "-c", "1", "-I", dev, address]
        elif shutil.which("busybox"):
            cmd = ["busybox", "arping", "-U", "-c", "1", "-s", address, "-I", dev, address]
        else:
            return
        self.reaper.spawn(cmd, namespace=ns)

    def _forget_connections(self, ns: str, address: str) -> None:
        """Drop the tracked connections to a floating IP that went away."""
        try:
            conntrack.forget(ns, 4, [(0, "daddr", address)])
        except (OSError, NetlinkError):
            LOG.exception("cannot delete the tracked connections of %s", address)

    def _report_fips(self, rid: str, fips: tuple[FloatingIP, ...], admin_up: bool = True) -> None:
        statuses = {}
        for fip in fips:
            status = "ACTIVE" if fip.port_id and admin_up else "DOWN"
            if fip.status != status:
                statuses[fip.id] = status
        if statuses:
            self.plugin.update_floatingip_statuses({}, rid, FloatingIPStatuses(statuses))

    # -- metadata proxy ------------------------------------------------------------------

    def _proxy(self, rid: str) -> ProxyProcess:
        args = [
            f"--port={int(self.opts.metadata_port)}",
            f"--socket={self.metadata_socket}",
            f"--router-id={rid}",
        ]
        return ProxyProcess(self.root / rid, self.prefix + rid, args)

    def _ensure_proxy(self, rid: str, ns: str) -> None:
        self._proxy(rid).ensure(self.reaper)

    def _stop_proxy(self, rid: str) -> None:
        self._proxy(rid).stop(self.reaper)

    def _radvd(self, rid: str) -> radvd.Radvd:
        return radvd.Radvd(self.root / rid, self.prefix + rid)

    # -- teardown ------------------------------------------------------------------------

    def teardown(self, rid: str) -> None:
        self._stop_proxy(rid)
        self._radvd(rid).stop(self.reaper)
        ns = self.prefix + rid
        if ip_lib.netns_exists(ns):
            try:
                self.meter.collect(rid, ns)
            except (CommandError, OSError):
                LOG.exception("cannot read the metering counters of router %s", rid)
            nsip = IpLib(ns)
            for name in nsip.link_names():
                if name.startswith(("qr-", "qg-")):
                    nsip.delete_link(name)
            ip_lib.netns_delete(ns)
        shutil.rmtree(self.root / rid, ignore_errors=True)
        self.routers.pop(rid, None)
        self._no_firewall.discard(rid)
        self._applied.pop(rid, None)
        self._chains.pop(rid, None)
        self.meter.applied.pop(rid, None)

    def stop(self) -> None:
        super().stop()
        self.reaper.wait()

    def cleanup(self) -> None:
        for rid in self._existing():
            self.teardown(rid)


def forwarding_rules(forwardings: tuple[Forwarding, ...]) -> list[str]:
    """DNAT rules of port forwardings: a range onto one port, or onto a range of the same
    length port by port (``/base``: the kernel's offset mapping)."""
    rules = []
    for f in sorted(forwardings, key=lambda f: (f.floating_ip_address, f.external_port_start)):
        ext = f"{f.external_port_start}"
        to = f"{f.internal_ip_address}:{f.internal_port_start}"
        if f.external_port_end != f.external_port_start:
            ext += f":{f.external_port_end}"
            if f.internal_port_end != f.internal_port_start:
                to += f"-{f.internal_port_end}/{f.external_port_start}"
        rules.append(
            f"-d {f.floating_ip_address}/32 -p {f.protocol} -m {f.protocol} --dport {ext} "
            f"-j DNAT --to-destination {to}"
        )
    return rules


def _gateway(subnets: tuple[Subnet, ...], version: int) -> str | None:
    """The gateway of the first subnet of ``version`` that has one."""
    return next((s.gateway_ip for s in subnets if s.gateway_ip and s.ip_version == version), None)


def _is_busybox(name: str) -> bool:
    path = shutil.which(name)
    return bool(path) and Path(str(path)).resolve().name == "busybox"


def _route_key(destination: str, nexthop: str) -> tuple[str, str]:
    """An extra route in one spelling: the CIDR and next hop as ipaddress prints them."""
    dest = str(ipaddress.ip_network(destination, strict=False))
    try:
        return dest, str(ipaddress.ip_address(nexthop))
    except ValueError:
        return dest, nexthop
