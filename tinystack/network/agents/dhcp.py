"""The DHCP agent: dnsmasq in a ``qdhcp-<network>`` namespace per network with DHCP.

For each network with a DHCP-enabled subnet to serve the agent makes (or adopts) its DHCP
port (``create_dhcp_port``, device id ``dhcp<uuid5(host)>-<network>``), plugs a veth
``tap<port>``/``ns-<port>`` whose host end the L2 agent wires into the network's bridge,
and runs dnsmasq with static host entries (MAC -> address, host name), the router, DNS
servers, host routes (classless static routes) and the MTU. Port changes rewrite the
host and option files and send dnsmasq SIGHUP; subnet changes restart it, and so does a
lease of a port that is gone (dropped from the lease file in between: its address may go
to a new port, which dnsmasq would refuse while another client holds it). Files live in
``<state>/dhcp/<network>/`` (leases included).

dnsmasq is also the network's DNS server, as upstream's: it answers each port's names
(the server's ``dns_assignment``: the port's ``dns_name``, else ``host-<address>``, and
its FQDN in ``[network] dns_domain``) from its additional hosts file, and forwards other
queries to ``[network] dnsmasq_dns_servers``. Subnets without ``dns_nameservers`` get no
DNS server option, so dnsmasq offers its own address.

IPv6 follows the subnet's ``ipv6_address_mode`` as upstream's dnsmasq driver does:
``dhcpv6-stateful`` (or no mode at all) gets a static range and ``mac,[address],name``
host entries; ``dhcpv6-stateless`` gets a static range too, which only answers
information requests (DNS servers as ``option6:dns-server``); ``slaac`` nothing. The DHCP
port holds its addresses on every DHCP-enabled subnet (EUI-64 ones included); its
namespace end accepts no router advertisements, and dnsmasq sends none (the router's
radvd does).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import signal
import uuid
from dataclasses import dataclass
from pathlib import Path

from tinystack.common.rpc.payload import JSON
from tinystack.network.agents import ip_lib
from tinystack.network.agents.base import Agent, AgentContext, AgentOptions, write_if_changed
from tinystack.network.agents.ip_lib import CommandError, IpLib
from tinystack.network.agents.metadata import ProxyProcess
from tinystack.network.payloads import DhcpPortRequest, NetworkInfo, PortChange, PortInfo, Subnet
from tinystack.network.rpcapi import (
    DHCP_AGENT,
    DHCP_AGENT_TOPIC,
    DhcpAgentEndpoint,
    DhcpAgentHandler,
)

LOG = logging.getLogger(__name__)
METADATA_IP = "169.254.169.254"
SLAAC, STATELESS, STATEFUL = "slaac", "dhcpv6-stateless", "dhcpv6-stateful"


def available() -> bool:
    return shutil.which("dnsmasq") is not None


def served(subnet: Subnet) -> bool:
    """Whether dnsmasq answers on ``subnet`` (DHCP-enabled IPv4, DHCPv6 stateful or
    stateless; SLAAC subnets only give the DHCP port an address)."""
    if not subnet.enable_dhcp:
        return False
    if subnet.ip_version == 4:
        return True
    if ipaddress.ip_network(subnet.cidr).prefixlen > 64:
        return False
    return subnet.ipv6_address_mode in (None, STATEFUL, STATELESS)


def stateful(subnet: Subnet) -> bool:
    """An IPv6 subnet whose addresses dnsmasq hands out (stateful, or no mode at all)."""
    return subnet.ip_version == 6 and subnet.ipv6_address_mode in (None, STATEFUL)


class DhcpHandler(DhcpAgentHandler):
    def __init__(self, agent: DhcpAgent) -> None:
        self.agent = agent

    def port_update(self, port: PortChange) -> None:
        self.agent.mark(port.network_id)

    def port_delete(self, port_id: str, network_id: str) -> None:
        self.agent.mark(network_id)

    def network_update(self, network_id: str) -> None:
        self.agent.mark(network_id)

    def network_delete(self, network_id: str) -> None:
        self.agent.mark(network_id, deleted=True)


@dataclass(frozen=True)
class ServedNetwork:
    """What the agent serves on a network (reported in its heartbeats)."""

    subnets: int
    ports: int
    port_id: str


class DhcpAgent(Agent):
    agent_type = DHCP_AGENT
    binary = "tinystack-dhcp-agent"
    topic = DHCP_AGENT_TOPIC

    def __init__(self, ctx: AgentContext, metadata_socket: Path | None = None) -> None:
        super().__init__(ctx)
        self.metadata_socket = metadata_socket
        self.reaper = ip_lib.Reaper()
        self.root = ctx.state_dir / "dhcp"
        self.prefix = str(ctx.opts.dhcp_namespace_prefix)
        self.device_prefix = "dhcp" + str(uuid.uuid5(uuid.NAMESPACE_DNS, ctx.host)) + "-"
        self.networks: dict[str, ServedNetwork] = {}
        self._dirty: set[str] = set()
        self._deleted: set[str] = set()

    def endpoints(self) -> list[object]:
        return [DhcpAgentEndpoint(DhcpHandler(self))]

    def mark(self, network_id: str, deleted: bool = False) -> None:
        if not network_id:
            return
        with self.lock:
            (self._deleted if deleted else self._dirty).add(network_id)
        self.wake()

    def configurations(self) -> dict[str, JSON]:
        return {
            "dhcp_driver": "dnsmasq",
            "networks": len(self.networks),
            "subnets": sum(n.subnets for n in self.networks.values()),
            "ports": sum(n.ports for n in self.networks.values()),
        }

    # -- loop ----------------------------------------------------------------------------

    def process(self, full: bool) -> None:
        with self.lock:
            dirty, self._dirty = self._dirty, set()
            deleted, self._deleted = self._deleted, set()
        for net in deleted:
            self.teardown(net, release=False)
        if full:
            infos = self.plugin.get_active_networks_info({}, self.host)
            wanted = {n.id for n in infos}
            for net in self._existing() - wanted:
                self.teardown(net)
            for info in infos:
                self._configure_safely(info)
            return
        for net in sorted(dirty - deleted):
            found = self.plugin.get_network_info({}, net, self.host)
            if found is None:
                if net in self.networks or net in self._existing():
                    self.teardown(net)
                continue
            self._configure_safely(found)

    def _configure_safely(self, info: NetworkInfo) -> None:
        try:
            self.configure(info)
        except (CommandError, OSError):
            LOG.exception("cannot serve DHCP on network %s", info.id)
            with self.lock:
                self._dirty.add(info.id)

    def _existing(self) -> set[str]:
        found = {n[len(self.prefix) :] for n in ip_lib.netns_list() if n.startswith(self.prefix)}
        if self.root.exists():
            found |= {p.name for p in self.root.iterdir() if p.is_dir()}
        return found

    def namespace(self, net: str) -> str:
        return self.prefix + net

    # -- one network ---------------------------------------------------------------------

    def configure(self, info: NetworkInfo) -> None:
        net = info.id
        enabled = [s for s in info.subnets if s.enable_dhcp]
        subnets = [s for s in enabled if served(s)]
        if not subnets or not info.admin_state_up:
            self.teardown(net)
            return
        port = self._dhcp_port(info, enabled)
        ns = self.namespace(net)
        ip_lib.netns_add(ns)
        dev = "ns-" + port.id[:11]
        nsip = IpLib(ns)
        mtu = info.mtu or 1500
        if not nsip.exists(dev):
            tap = "tap" + port.id[:11]
            if self.ctx.ip.exists(tap):
                self.ctx.ip.delete_link(tap)
            self.ctx.ip.add_veth(tap, dev, ns, mtu=mtu, peer_mac=port.mac_address)
            self.ctx.ip.disable_ipv6(tap)
            self.ctx.ip.set_link(tap, up=True)
            nsip.write_proc(f"/proc/sys/net/ipv6/conf/{dev}/accept_ra", "0")
            nsip.set_link(dev, up=True)
        by_id = {s.id: s for s in enabled}
        wanted = []
        for fixed in port.fixed_ips:
            subnet = by_id.get(fixed.subnet_id)
            if subnet is not None:
                prefix = ipaddress.ip_network(subnet.cidr).prefixlen
                wanted.append(f"{fixed.ip_address}/{prefix}")
        metadata = bool(self.opts.enable_isolated_metadata) and not self._has_router(info)
        metadata = metadata and self.metadata_socket is not None
        if metadata:
            wanted.append(f"{METADATA_IP}/32")
        nsip.sync_addresses(dev, wanted)
        directory = self.root / net
        directory.mkdir(parents=True, exist_ok=True)
        dnsmasq = Dnsmasq(directory, ns, dev, self.opts, metadata)
        dnsmasq.update(info, subnets, port, mtu)
        proxy = self._proxy(net)
        if metadata:
            proxy.ensure(self.reaper)
        else:
            proxy.stop(self.reaper)
        self.networks[net] = ServedNetwork(len(subnets), len(info.ports), port.id)

    def _has_router(self, info: NetworkInfo) -> bool:
        return any(p.device_owner.startswith("network:router_interface") for p in info.ports)

    def _dhcp_port(self, info: NetworkInfo, subnets: list[Subnet]) -> PortInfo:
        device_id = self.device_prefix + info.id
        wanted = {s.id for s in subnets}
        for port in info.ports:
            if port.device_owner == "network:dhcp" and port.device_id == device_id:
                if wanted <= {ip.subnet_id for ip in port.fixed_ips}:
                    return port
        request = DhcpPortRequest(
            network_id=info.id, device_id=device_id, name="", subnet_ids=tuple(sorted(wanted))
        )
        return self.plugin.create_dhcp_port({}, request, self.host)

    def _proxy(self, net: str) -> ProxyProcess:
        args = [
            f"--bind={METADATA_IP}",
            "--port=80",
            f"--socket={self.metadata_socket}",
            f"--network-id={net}",
        ]
        return ProxyProcess(self.root / net, self.namespace(net), args)

    def teardown(self, net: str, release: bool = True) -> None:
        directory = self.root / net
        self._proxy(net).stop(self.reaper)
        Dnsmasq(directory, self.namespace(net), "", self.opts).stop()
        ns = self.namespace(net)
        if ip_lib.netns_exists(ns):
            for name in IpLib(ns).link_names():
                if name.startswith("ns-"):
                    IpLib(ns).delete_link(name)
            ip_lib.netns_delete(ns)
        shutil.rmtree(directory, ignore_errors=True)
        self.networks.pop(net, None)
        if release:
            try:
                self.plugin.release_dhcp_port({}, net, self.device_prefix + net, self.host)
            except Exception:  # the network may be gone
                LOG.debug("release_dhcp_port %s failed", net, exc_info=True)

    def cleanup(self) -> None:
        for net in self._existing():
            self.teardown(net, release=False)


class Dnsmasq:
    """One dnsmasq: its files, its command line, start/reload/stop by pid file."""

    def __init__(
        self,
        directory: Path,
        namespace: str,
        device: str,
        opts: AgentOptions,
        metadata: bool = False,
    ) -> None:
        self.metadata = metadata
        self.dir = directory
        self.namespace = namespace
        self.device = device
        self.opts = opts
        self.pid_file = directory / "pid"
        self.hosts_file = directory / "host"
        self.opts_file = directory / "opts"
        self.addn_hosts = directory / "addn_hosts"
        self.leases = directory / "leases"
        self.cmd_file = directory / "cmdline"

    @property
    def marker(self) -> str:
        return f"--pid-file={self.pid_file}"

    def pid(self) -> int | None:
        pid = ip_lib.read_pid(self.pid_file)
        if pid is not None and ip_lib.pid_alive(pid, self.marker):
            return pid
        return None

    def update(self, info: NetworkInfo, subnets: list[Subnet], port: PortInfo, mtu: int) -> None:
        changed = False
        changed |= write_if_changed(self.hosts_file, self._hosts(info, subnets))
        changed |= write_if_changed(self.addn_hosts, self._addn_hosts(info, subnets))
        changed |= write_if_changed(self.opts_file, self._options(info, subnets, port))
        cmd = self._command(subnets, mtu)
        text = "\0".join(cmd)
        pid = self.pid()
        old = self.cmd_file.read_text() if self.cmd_file.exists() else ""
        stale = self._stale_leases(info, subnets)
        if pid is None or old != text or stale:
            if pid is not None:
                ip_lib.stop_pid(pid, self.marker)
            self._forget(stale)
            self.leases.touch()
            ip_lib.execute(cmd, namespace=self.namespace)
            self.cmd_file.write_text(text)
            LOG.info("dnsmasq started in %s", self.namespace)
        elif changed:
            os.kill(pid, signal.SIGHUP)

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            ip_lib.stop_pid(pid, self.marker)

    def _stale_leases(self, info: NetworkInfo, subnets: list[Subnet]) -> set[tuple[str, str]]:
        """(MAC, address) of the IPv4 leases no port holds any more: a deleted port's, whose
        address a new port may get, and dnsmasq offers no client an address leased to
        another (upstream's agent releases such leases with ``dhcp_release``)."""
        v4 = {s.id for s in subnets if s.ip_version == 4}
        held = {
            (p.mac_address.lower(), f.ip_address)
            for p in info.ports
            for f in p.fixed_ips
            if f.subnet_id in v4
        }
        return {key for key in _v4_leases(self.leases) if key not in held}

    def _forget(self, stale: set[tuple[str, str]]) -> None:
        """Drop ``stale`` leases from the lease file (dnsmasq is not running: it reads the
        file when it starts)."""
        if not stale:
            return
        lines = self.leases.read_text().splitlines()
        kept = [line for line in lines if _v4_lease(line) not in stale]
        self.leases.write_text("".join(line + "\n" for line in kept))
        LOG.info("dnsmasq in %s: %d lease(s) of ports gone released", self.namespace, len(stale))

    def _command(self, subnets: list[Subnet], mtu: int) -> list[str]:
        lease = int(self.opts.dhcp_lease_duration)
        cmd = [
            "dnsmasq",
            "--no-hosts",
            "--no-resolv",
            "--user=root",
            "--group=root",
            "--conf-file=/dev/null",
            self.marker,
            f"--dhcp-hostsfile={self.hosts_file}",
            f"--addn-hosts={self.addn_hosts}",
            f"--dhcp-optsfile={self.opts_file}",
            f"--dhcp-leasefile={self.leases}",
            "--dhcp-match=set:ipxe,175",
            "--bind-interfaces",
            f"--interface={self.device}",
            f"--domain={self.opts.dns_domain}",
            f"--dhcp-option-force=option:mtu,{mtu}",
            *(f"--server={server}" for server in self.opts.dnsmasq_dns_servers),
        ]
        size = 0
        for subnet in sorted(subnets, key=lambda s: s.id):
            network = ipaddress.ip_network(subnet.cidr)
            size += min(network.num_addresses, 65536)
            mask = network.netmask if network.version == 4 else network.prefixlen
            cmd.append(
                f"--dhcp-range=set:subnet-{subnet.id},{network.network_address},static,"
                f"{mask},{lease}s"
            )
        cmd.append(f"--dhcp-lease-max={min(size, 65536)}")
        return cmd

    def _hosts(self, info: NetworkInfo, subnets: list[Subnet]) -> str:
        by_id = {s.id: s for s in subnets}
        lines = []
        for port in sorted(info.ports, key=lambda p: p.id):
            tag = f",set:port-{port.id}" if port.extra_dhcp_opts else ""
            for fixed in port.fixed_ips:
                subnet = by_id.get(fixed.subnet_id)
                if subnet is None:
                    continue
                address = fixed.ip_address
                name = names(port, address, self.opts.dns_domain)[1]
                if subnet.ip_version == 4:
                    lines.append(f"{port.mac_address}{tag},{name},{address}")
                elif stateful(subnet):
                    lines.append(f"{port.mac_address}{tag},[{address}],{name}")
                elif tag:  # stateless: no address, only the port's own options
                    lines.append(f"{port.mac_address}{tag}")
        return "".join(line + "\n" for line in lines)

    def _addn_hosts(self, info: NetworkInfo, subnets: list[Subnet]) -> str:
        """``address<TAB>fqdn hostname`` per address (the FQDN first: PTR answers use it)."""
        ids = {s.id for s in subnets}
        lines = []
        for port in sorted(info.ports, key=lambda p: p.id):
            for fixed in port.fixed_ips:
                if fixed.subnet_id in ids:
                    short, fqdn = names(port, fixed.ip_address, self.opts.dns_domain)
                    lines.append(f"{fixed.ip_address}\t{fqdn} {short}")
        return "".join(line + "\n" for line in lines)

    def _options(self, info: NetworkInfo, subnets: list[Subnet], port: PortInfo) -> str:
        lines = []
        dhcp_ip = {ip.subnet_id: ip.ip_address for ip in port.fixed_ips}
        isolated = not any(
            p.device_owner.startswith("network:router_interface") for p in info.ports
        )
        for subnet in sorted(subnets, key=lambda s: s.id):
            tag = f"tag:subnet-{subnet.id}"
            version = subnet.ip_version
            # none: dnsmasq offers itself (it forwards to dnsmasq_dns_servers)
            dns = [d for d in subnet.dns_nameservers if ipaddress.ip_address(d).version == version]
            if version == 6:
                if dns:
                    text = ",".join(f"[{d}]" for d in dns)
                    lines.append(f"{tag},option6:dns-server,{text}")
                continue
            if dns:
                lines.append(f"{tag},option:dns-server,{','.join(dns)}")
            routes = [(r.destination, r.nexthop) for r in subnet.host_routes]
            if self.metadata and isolated and subnet.id in dhcp_ip:
                routes.append((f"{METADATA_IP}/32", dhcp_ip[subnet.id]))
            gateway = subnet.gateway_ip
            if routes:
                if gateway and not any(d == "0.0.0.0/0" for d, _ in routes):
                    routes.append(("0.0.0.0/0", gateway))
                text = ",".join(f"{d},{h}" for d, h in routes)
                lines.append(f"{tag},option:classless-static-route,{text}")
                lines.append(f"{tag},249,{text}")
            if gateway:
                lines.append(f"{tag},option:router,{gateway}")
            else:
                lines.append(f"{tag},option:router")
        for item in sorted(info.ports, key=lambda p: p.id):
            for opt in item.extra_dhcp_opts:
                six = opt.ip_version == 6
                name = opt.opt_name
                key = f"option6:{name}" if six else name if name.isdigit() else f"option:{name}"
                lines.append(f"tag:port-{item.id},{key},{opt.opt_value}")
        return "".join(line + "\n" for line in lines)


def _v4_lease(line: str) -> tuple[str, str] | None:
    """(MAC, address) of a lease file's IPv4 line (``expiry mac address name client-id``);
    None for the IPv6 ones (``duid ...``, ``expiry iaid address name duid``)."""
    fields = line.split()
    if len(fields) >= 3 and fields[1].count(":") == 5 and "." in fields[2]:
        return fields[1].lower(), fields[2]
    return None


def _v4_leases(path: Path) -> set[tuple[str, str]]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return set()
    return {key for key in map(_v4_lease, text.splitlines()) if key is not None}


def hostname(address: str) -> str:
    return "host-" + address.replace(".", "-").replace(":", "-")


def names(port: PortInfo, address: str, domain: str = "") -> tuple[str, str]:
    """The host name and FQDN of ``port``'s ``address`` (no trailing dots): the server's
    ``dns_assignment``, else (an older server) ``host-<address>`` in ``domain``."""
    for item in port.dns_assignment:
        if item.ip_address == address:
            return item.hostname.rstrip("."), item.fqdn.rstrip(".")
    short = hostname(address)
    domain = domain.rstrip(".")
    return short, f"{short}.{domain}" if domain else short
