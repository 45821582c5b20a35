"""The network service's RPC endpoints (the server side of :mod:`tinystack.network.rpcapi`).

Each method decodes its payload arguments, asks :class:`AgentSync` (which answers with
payloads) and encodes the result; nothing but payloads and scalars crosses the bus.
"""

from __future__ import annotations

import logging

from tinystack.common.rpc import RPCServer, Target, Transport
from tinystack.common.rpc.payload import JSON
from tinystack.network.payloads import (
    AgentState,
    DhcpPortRequest,
    FirewallGroupStatuses,
    FloatingIPStatuses,
    TunnelSync,
)
from tinystack.network.rpcapi import (
    API_VERSION,
    PLUGIN_TOPIC,
    PLUGIN_VERSION,
    REPORTS_TOPIC,
    Ctxt,
)
from tinystack.network.services.agent_sync import AgentSync
from tinystack.network.services.deps import Deps

LOG = logging.getLogger(__name__)


class PluginEndpoint:
    """Requests from L2, DHCP and L3 agents."""

    target = Target("", version=PLUGIN_VERSION)

    def __init__(self, deps: Deps) -> None:
        self.sync = AgentSync(deps)
        self.deps = deps

    def get_device_details(
        self, ctxt: Ctxt, device: str, agent_id: str = "", host: str | None = None
    ) -> JSON:
        return self.sync.device_details(device, host).to_primitive()

    def get_devices_details_list(
        self, ctxt: Ctxt, devices: list[str], agent_id: str = "", host: str | None = None
    ) -> list[JSON]:
        return [self.sync.device_details(d, host).to_primitive() for d in devices]

    def update_device_up(
        self, ctxt: Ctxt, device: str, agent_id: str = "", host: str | None = None
    ) -> JSON:
        return self.sync.set_status(device, "ACTIVE", host).to_primitive()

    def update_device_down(
        self, ctxt: Ctxt, device: str, agent_id: str = "", host: str | None = None
    ) -> JSON:
        return self.sync.set_status(device, "DOWN", host).to_primitive()

    def get_ports_for_host(self, ctxt: Ctxt, host: str) -> list[JSON]:
        return [d.to_primitive() for d in self.sync.ports_for_host(host)]

    def security_group_info_for_devices(self, ctxt: Ctxt, devices: list[str]) -> JSON:
        return self.sync.security_group_info(devices).to_primitive()

    def security_group_rules_for_devices(self, ctxt: Ctxt, devices: list[str]) -> JSON:
        return self.sync.security_group_rules(devices).to_primitive()

    def get_active_networks_info(self, ctxt: Ctxt, host: str = "") -> list[JSON]:
        return [n.to_primitive() for n in self.sync.networks_info()]

    def get_network_info(self, ctxt: Ctxt, network_id: str, host: str = "") -> JSON:
        found = self.sync.networks_info([network_id])
        return found[0].to_primitive() if found else None

    def create_dhcp_port(self, ctxt: Ctxt, port: JSON, host: str) -> JSON:
        request = DhcpPortRequest.from_primitive(port)
        return self.sync.create_dhcp_port(request, host).to_primitive()

    def release_dhcp_port(self, ctxt: Ctxt, network_id: str, device_id: str, host: str) -> None:
        self.sync.release_dhcp_port(network_id, device_id)

    def sync_routers(
        self, ctxt: Ctxt, host: str, router_ids: list[str] | None = None
    ) -> list[JSON]:
        return [r.to_primitive() for r in self.sync.sync_routers(router_ids)]

    def get_floatingips_for_host(self, ctxt: Ctxt, host: str) -> list[JSON]:
        return [f.to_primitive() for f in self.sync.floatingips_for_host(host)]

    def update_floatingip_statuses(self, ctxt: Ctxt, router_id: str, fip_statuses: JSON) -> None:
        statuses = FloatingIPStatuses.from_primitive(fip_statuses).statuses
        self.deps.floatingips.set_statuses(dict(statuses))

    def set_firewall_group_statuses(self, ctxt: Ctxt, statuses: JSON) -> None:
        applied = FirewallGroupStatuses.from_primitive(statuses).statuses
        self.deps.firewall_groups.set_statuses(dict(applied))

    def get_external_network_id(self, ctxt: Ctxt, host: str = "") -> str | None:
        return self.sync.external_network_id()

    def tunnel_sync(
        self, ctxt: Ctxt, tunnel_ip: str, tunnel_type: str = "vxlan", host: str | None = None
    ) -> JSON:
        tunnels = self.sync.tunnels(exclude_ip=tunnel_ip)
        self.deps.events.tunnel_update(tunnel_ip, tunnel_type, host)
        return TunnelSync(tunnels=tuple(tunnels)).to_primitive()

    def get_ports(self, ctxt: Ctxt, network_ids: list[str], ip_address: str) -> list[JSON]:
        return [p.to_primitive() for p in self.sync.ports_with_address(network_ids, ip_address)]


class ReportsEndpoint:
    """Agent heartbeats."""

    target = Target("", version=API_VERSION)

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def report_state(self, ctxt: Ctxt, agent_state: JSON, time: str | None = None) -> str:
        state = AgentState.from_primitive(agent_state)
        self.deps.agents.report_state(state)
        return "alive"


class RpcServers:
    """The two RPC servers of the network service, started and stopped together."""

    def __init__(self, transport: Transport, deps: Deps, host: str | None = None) -> None:
        self.servers = [
            RPCServer(transport, Target(PLUGIN_TOPIC, server=host), [PluginEndpoint(deps)]),
            RPCServer(transport, Target(REPORTS_TOPIC, server=host), [ReportsEndpoint(deps)]),
        ]

    def start(self) -> None:
        for server in self.servers:
            server.start()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        for server in self.servers:
            server.wait()
