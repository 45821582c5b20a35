"""The RPC interface between the network service and its agents (the agents' side).

Agents call the service on two topics:

* ``q-plugin`` (:class:`PluginApi`): device details, port up/down, what a host
  must wire (ports, DHCP networks, routers, floating IPs), security group rules;
* ``q-reports-plugin`` (:class:`ReportsApi`): heartbeats (``report_state``).

The service casts changes to agents with ``fanout`` on one topic per agent kind;
an agent serves the matching endpoint interface (:class:`L2AgentEndpoint`,
:class:`DhcpAgentEndpoint`, :class:`L3AgentEndpoint`) on its topic.

Every argument and result is plain JSON (dicts, lists, strings, numbers).
"""

from __future__ import annotations

import abc
from typing import Any

from tinystack.common.rpc import RPCClient, Target, Transport

PLUGIN_TOPIC = "q-plugin"
REPORTS_TOPIC = "q-reports-plugin"
L2_AGENT_TOPIC = "q-agent-notifier"
DHCP_AGENT_TOPIC = "dhcp_agent"
L3_AGENT_TOPIC = "l3_agent"
API_VERSION = "1.0"

#: agent types as upstream names them (``agent_type`` in report_state)
LINUXBRIDGE_AGENT = "Linux bridge agent"
DHCP_AGENT = "DHCP agent"
L3_AGENT = "L3 agent"
METADATA_AGENT = "Metadata agent"

Ctxt = dict[str, Any]


class PluginApi:
    """What agents ask the network service (topic ``q-plugin``)."""

    def __init__(self, transport: Transport, timeout: float = 60) -> None:
        self.client = RPCClient(transport, Target(PLUGIN_TOPIC, version=API_VERSION), timeout)

    # L2 agent
    def get_device_details(self, ctxt: Ctxt, device: str, agent_id: str, host: str) -> Any:
        return self.client.call(
            ctxt, "get_device_details", device=device, agent_id=agent_id, host=host
        )

    def get_devices_details_list(
        self, ctxt: Ctxt, devices: list[str], agent_id: str, host: str
    ) -> Any:
        return self.client.call(
            ctxt, "get_devices_details_list", devices=devices, agent_id=agent_id, host=host
        )

    def update_device_up(self, ctxt: Ctxt, device: str, agent_id: str, host: str) -> Any:
        return self.client.call(
            ctxt, "update_device_up", device=device, agent_id=agent_id, host=host
        )

    def update_device_down(self, ctxt: Ctxt, device: str, agent_id: str, host: str) -> Any:
        return self.client.call(
            ctxt, "update_device_down", device=device, agent_id=agent_id, host=host
        )

    def get_ports_for_host(self, ctxt: Ctxt, host: str) -> Any:
        return self.client.call(ctxt, "get_ports_for_host", host=host)

    def security_group_info_for_devices(self, ctxt: Ctxt, devices: list[str]) -> Any:
        return self.client.call(ctxt, "security_group_info_for_devices", devices=devices)

    def security_group_rules_for_devices(self, ctxt: Ctxt, devices: list[str]) -> Any:
        return self.client.call(ctxt, "security_group_rules_for_devices", devices=devices)

    # DHCP agent
    def get_active_networks_info(self, ctxt: Ctxt, host: str) -> Any:
        return self.client.call(ctxt, "get_active_networks_info", host=host)

    def get_network_info(self, ctxt: Ctxt, network_id: str, host: str) -> Any:
        return self.client.call(ctxt, "get_network_info", network_id=network_id, host=host)

    def create_dhcp_port(self, ctxt: Ctxt, port: dict[str, Any], host: str) -> Any:
        return self.client.call(ctxt, "create_dhcp_port", port=port, host=host)

    def release_dhcp_port(self, ctxt: Ctxt, network_id: str, device_id: str, host: str) -> Any:
        return self.client.call(
            ctxt, "release_dhcp_port", network_id=network_id, device_id=device_id, host=host
        )

    # L3 agent
    def sync_routers(self, ctxt: Ctxt, host: str, router_ids: list[str] | None = None) -> Any:
        return self.client.call(ctxt, "sync_routers", host=host, router_ids=router_ids)

    def get_floatingips_for_host(self, ctxt: Ctxt, host: str) -> Any:
        return self.client.call(ctxt, "get_floatingips_for_host", host=host)

    def update_floatingip_statuses(
        self, ctxt: Ctxt, router_id: str, fip_statuses: dict[str, str]
    ) -> Any:
        return self.client.call(
            ctxt, "update_floatingip_statuses", router_id=router_id, fip_statuses=fip_statuses
        )

    def get_external_network_id(self, ctxt: Ctxt, host: str) -> Any:
        return self.client.call(ctxt, "get_external_network_id", host=host)

    # tunnels (the L2 agent's VTEP peers)
    def tunnel_sync(
        self, ctxt: Ctxt, tunnel_ip: str, tunnel_type: str = "vxlan", host: str | None = None
    ) -> Any:
        """``{"tunnels": [{"ip_address", "host"}]}``: the VTEPs of the other live L2 agents;
        the service tells the others about this one with a ``tunnel_update`` cast."""
        return self.client.call(
            ctxt, "tunnel_sync", tunnel_ip=tunnel_ip, tunnel_type=tunnel_type, host=host
        )

    # metadata agent
    def get_ports(self, ctxt: Ctxt, filters: dict[str, list[Any]]) -> Any:
        """Ports matching list filters (``network_id``, ``fixed_ips=ip_address=X``, ...)."""
        return self.client.call(ctxt, "get_ports", filters=filters)


class ReportsApi:
    """Agent heartbeats (topic ``q-reports-plugin``)."""

    def __init__(self, transport: Transport, timeout: float = 30) -> None:
        self.client = RPCClient(transport, Target(REPORTS_TOPIC, version=API_VERSION), timeout)

    def report_state(self, ctxt: Ctxt, agent_state: dict[str, Any], use_call: bool = True) -> Any:
        """``agent_state``: agent_type, binary, host, topic, configurations,
        availability_zone (optional), start_flag (first report after start)."""
        if use_call:
            return self.client.call(ctxt, "report_state", agent_state=agent_state)
        self.client.cast(ctxt, "report_state", agent_state=agent_state)
        return None


class L2AgentEndpoint(abc.ABC):
    """What an L2 agent serves on ``q-agent-notifier`` (fanout casts)."""

    @abc.abstractmethod
    def port_update(self, ctxt: Ctxt, port: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def port_delete(self, ctxt: Ctxt, port_id: str, network_id: str) -> None: ...

    @abc.abstractmethod
    def network_update(self, ctxt: Ctxt, network_id: str) -> None: ...

    @abc.abstractmethod
    def network_delete(self, ctxt: Ctxt, network_id: str) -> None: ...

    @abc.abstractmethod
    def security_groups_changed(self, ctxt: Ctxt, security_groups: list[str]) -> None: ...

    def tunnel_update(  # noqa: B027 - optional: agents without tunnels ignore it
        self, ctxt: Ctxt, tunnel_ip: str, tunnel_type: str = "vxlan", host: str | None = None
    ) -> None:
        """Another host's VTEP (sent when its agent calls ``tunnel_sync``)."""


class DhcpAgentEndpoint(abc.ABC):
    """What a DHCP agent serves on ``dhcp_agent`` (fanout casts)."""

    @abc.abstractmethod
    def port_update(self, ctxt: Ctxt, port: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def port_delete(self, ctxt: Ctxt, port_id: str, network_id: str) -> None: ...

    @abc.abstractmethod
    def network_update(self, ctxt: Ctxt, network_id: str) -> None: ...

    @abc.abstractmethod
    def network_delete(self, ctxt: Ctxt, network_id: str) -> None: ...


class L3AgentEndpoint(abc.ABC):
    """What an L3 agent serves on ``l3_agent`` (fanout casts)."""

    @abc.abstractmethod
    def routers_updated(self, ctxt: Ctxt, routers: list[str]) -> None: ...

    @abc.abstractmethod
    def router_deleted(self, ctxt: Ctxt, router_id: str) -> None: ...
