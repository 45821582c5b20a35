"""The network service's RPC endpoints (the server side of :mod:`agent_rpc`)."""

from __future__ import annotations

import logging
from typing import Any

from tinystack.common.rpc import RPCServer, Target, Transport
from tinystack.network.agent_rpc import API_VERSION, PLUGIN_TOPIC, REPORTS_TOPIC
from tinystack.network.services.agent_sync import AgentSync
from tinystack.network.services.deps import Deps

LOG = logging.getLogger(__name__)
Ctxt = dict[str, Any]


class PluginEndpoint:
    """Requests from L2, DHCP and L3 agents."""

    target = Target("", version=API_VERSION)

    def __init__(self, services: Deps) -> None:
        self.sync = AgentSync(services)
        self.services = services

    def get_device_details(
        self, ctxt: Ctxt, device: str, agent_id: str = "", host: str | None = None
    ) -> dict[str, Any]:
        return self.sync.device_details(device, host)

    def get_devices_details_list(
        self, ctxt: Ctxt, devices: list[str], agent_id: str = "", host: str | None = None
    ) -> list[dict[str, Any]]:
        return [self.sync.device_details(d, host) for d in devices]

    def update_device_up(
        self, ctxt: Ctxt, device: str, agent_id: str = "", host: str | None = None
    ) -> dict[str, Any]:
        return self.sync.set_status(device, "ACTIVE")

    def update_device_down(
        self, ctxt: Ctxt, device: str, agent_id: str = "", host: str | None = None
    ) -> dict[str, Any]:
        return self.sync.set_status(device, "DOWN")

    def get_ports_for_host(self, ctxt: Ctxt, host: str) -> list[dict[str, Any]]:
        return self.sync.ports_for_host(host)

    def security_group_info_for_devices(self, ctxt: Ctxt, devices: list[str]) -> dict[str, Any]:
        return self.sync.security_group_info(devices)

    def security_group_rules_for_devices(self, ctxt: Ctxt, devices: list[str]) -> dict[str, Any]:
        return self.sync.security_group_rules(devices)

    def get_active_networks_info(self, ctxt: Ctxt, host: str = "") -> list[dict[str, Any]]:
        return self.sync.networks_info()

    def get_network_info(
        self, ctxt: Ctxt, network_id: str, host: str = ""
    ) -> dict[str, Any] | None:
        found = self.sync.networks_info([network_id])
        return found[0] if found else None

    def create_dhcp_port(self, ctxt: Ctxt, port: dict[str, Any], host: str) -> dict[str, Any]:
        return self.sync.create_dhcp_port(port, host)

    def release_dhcp_port(self, ctxt: Ctxt, network_id: str, device_id: str, host: str) -> None:
        self.sync.release_dhcp_port(network_id, device_id)

    def sync_routers(
        self, ctxt: Ctxt, host: str, router_ids: list[str] | None = None
    ) -> list[dict[str, Any]]:
        return self.sync.sync_routers(router_ids)

    def get_floatingips_for_host(self, ctxt: Ctxt, host: str) -> list[dict[str, Any]]:
        return self.sync.floatingips_for_host(host)

    def update_floatingip_statuses(
        self, ctxt: Ctxt, router_id: str, fip_statuses: dict[str, str]
    ) -> None:
        self.services.floatingips.set_statuses(fip_statuses)

    def get_external_network_id(self, ctxt: Ctxt, host: str = "") -> str | None:
        return self.sync.external_network_id()

    def tunnel_sync(
        self, ctxt: Ctxt, tunnel_ip: str, tunnel_type: str = "vxlan", host: str | None = None
    ) -> dict[str, Any]:
        tunnels = self.sync.tunnels(exclude_ip=tunnel_ip)
        self.services.events.tunnel_update(tunnel_ip, tunnel_type, host)
        return {"tunnels": tunnels}

    def get_ports(self, ctxt: Ctxt, filters: dict[str, list[Any]]) -> list[dict[str, Any]]:
        return self.sync.ports(filters)


class ReportsEndpoint:
    """Agent heartbeats."""

    target = Target("", version=API_VERSION)

    def __init__(self, services: Deps) -> None:
        self.services = services

    def report_state(self, ctxt: Ctxt, agent_state: dict[str, Any], time: Any = None) -> str:
        self.services.agents.report_state(agent_state)
        return "alive"


class RpcServers:
    """The two RPC servers of the network service, started and stopped together."""

    def __init__(self, transport: Transport, services: Deps, host: str | None = None) -> None:
        self.servers = [
            RPCServer(transport, Target(PLUGIN_TOPIC, server=host), [PluginEndpoint(services)]),
            RPCServer(transport, Target(REPORTS_TOPIC, server=host), [ReportsEndpoint(services)]),
        ]

    def start(self) -> None:
        for server in self.servers:
            server.start()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        for server in self.servers:
            server.wait()
