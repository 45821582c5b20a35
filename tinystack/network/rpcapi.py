"""The typed, versioned RPC between the network service and its agents.

Agents call the service on two topics:

* ``q-plugin`` (:class:`PluginApi`): device details, port up/down, what a host must
  wire (ports, DHCP networks, routers, floating IPs), security group rules;
* ``q-reports-plugin`` (:class:`ReportsApi`): heartbeats (``report_state``).

The service casts changes to agents (:class:`AgentNotifier`) with ``fanout`` on one
topic per agent kind; an agent serves the matching endpoint (:class:`L2AgentEndpoint`,
:class:`DhcpAgentEndpoint`, :class:`L3AgentEndpoint`), which decodes the payloads and
hands them to the agent's typed handler (:class:`L2AgentHandler`, ...).

Every argument and result is a :class:`~tinystack.common.rpc.payload.Payload` (see
:mod:`tinystack.network.payloads`) or a plain scalar / list of scalars; clients
encode with ``to_primitive()`` and decode results with ``from_primitive()``, endpoints
the other way round. Version 2.0 replaced the dicts of 1.x.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Mapping

from tinystack.common.rpc import RPCClient, Target, Transport
from tinystack.common.rpc.client import VersionCapFn
from tinystack.common.rpc.payload import JSON, payload_versions
from tinystack.network import payloads
from tinystack.network.payloads import (
    AgentState,
    DeviceDetails,
    DeviceRules,
    DeviceStatus,
    DhcpPortRequest,
    FirewallGroupStatuses,
    FloatingIP,
    FloatingIPStatuses,
    NetworkInfo,
    PortChange,
    PortInfo,
    RouterInfo,
    SecurityGroupInfo,
    Tunnel,
    TunnelSync,
)

LOG = logging.getLogger(__name__)

PLUGIN_TOPIC = "q-plugin"
REPORTS_TOPIC = "q-reports-plugin"
L2_AGENT_TOPIC = "q-agent-notifier"
DHCP_AGENT_TOPIC = "dhcp_agent"
L3_AGENT_TOPIC = "l3_agent"
#: 2.0: typed payloads instead of dicts (both directions, every topic)
API_VERSION = "2.0"
#: the service's ``q-plugin`` endpoint: 2.1 added ``set_firewall_group_statuses`` (an
#: agent sends it as 2.1, so a service still at 2.0 refuses it instead of failing inside)
PLUGIN_VERSION = "2.1"
#: what an agent that reported no version (before AgentState 1.1) runs
LEGACY_VERSION = "2.0"

#: agent types as upstream names them (``agent_type`` in report_state)
LINUXBRIDGE_AGENT = "Linux bridge agent"
DHCP_AGENT = "DHCP agent"
L3_AGENT = "L3 agent"
METADATA_AGENT = "Metadata agent"

#: the request context on the wire (agents send an empty one)
Ctxt = dict[str, JSON]


def _list(items: JSON) -> list[JSON]:
    return list(items) if isinstance(items, list) else []


# -- agents -> service --------------------------------------------------------------------------


class PluginApi:
    """What agents ask the network service (topic ``q-plugin``)."""

    def __init__(self, transport: Transport, timeout: float = 60) -> None:
        self.client = RPCClient(transport, Target(PLUGIN_TOPIC, version=API_VERSION), timeout)

    # L2 agent
    def get_device_details(
        self, ctxt: Ctxt, device: str, agent_id: str, host: str
    ) -> DeviceDetails:
        found = self.client.call(
            ctxt, "get_device_details", device=device, agent_id=agent_id, host=host
        )
        return DeviceDetails.from_primitive(found)

    def get_devices_details_list(
        self, ctxt: Ctxt, devices: list[str], agent_id: str, host: str
    ) -> list[DeviceDetails]:
        found = self.client.call(
            ctxt, "get_devices_details_list", devices=devices, agent_id=agent_id, host=host
        )
        return [DeviceDetails.from_primitive(item) for item in _list(found)]

    def update_device_up(self, ctxt: Ctxt, device: str, agent_id: str, host: str) -> DeviceStatus:
        found = self.client.call(
            ctxt, "update_device_up", device=device, agent_id=agent_id, host=host
        )
        return DeviceStatus.from_primitive(found)

    def update_device_down(self, ctxt: Ctxt, device: str, agent_id: str, host: str) -> DeviceStatus:
        found = self.client.call(
            ctxt, "update_device_down", device=device, agent_id=agent_id, host=host
        )
        return DeviceStatus.from_primitive(found)

    def get_ports_for_host(self, ctxt: Ctxt, host: str) -> list[DeviceDetails]:
        found = self.client.call(ctxt, "get_ports_for_host", host=host)
        return [DeviceDetails.from_primitive(item) for item in _list(found)]

    def security_group_info_for_devices(self, ctxt: Ctxt, devices: list[str]) -> SecurityGroupInfo:
        found = self.client.call(ctxt, "security_group_info_for_devices", devices=devices)
        return SecurityGroupInfo.from_primitive(found)

    def security_group_rules_for_devices(self, ctxt: Ctxt, devices: list[str]) -> DeviceRules:
        found = self.client.call(ctxt, "security_group_rules_for_devices", devices=devices)
        return DeviceRules.from_primitive(found)

    # DHCP agent
    def get_active_networks_info(self, ctxt: Ctxt, host: str) -> list[NetworkInfo]:
        found = self.client.call(ctxt, "get_active_networks_info", host=host)
        return [NetworkInfo.from_primitive(item) for item in _list(found)]

    def get_network_info(self, ctxt: Ctxt, network_id: str, host: str) -> NetworkInfo | None:
        found = self.client.call(ctxt, "get_network_info", network_id=network_id, host=host)
        return None if found is None else NetworkInfo.from_primitive(found)

    def create_dhcp_port(self, ctxt: Ctxt, port: DhcpPortRequest, host: str) -> PortInfo:
        found = self.client.call(ctxt, "create_dhcp_port", port=port.to_primitive(), host=host)
        return PortInfo.from_primitive(found)

    def release_dhcp_port(self, ctxt: Ctxt, network_id: str, device_id: str, host: str) -> None:
        self.client.call(
            ctxt, "release_dhcp_port", network_id=network_id, device_id=device_id, host=host
        )

    # L3 agent
    def sync_routers(
        self, ctxt: Ctxt, host: str, router_ids: list[str] | None = None
    ) -> list[RouterInfo]:
        found = self.client.call(ctxt, "sync_routers", host=host, router_ids=router_ids)
        return [RouterInfo.from_primitive(item) for item in _list(found)]

    def get_floatingips_for_host(self, ctxt: Ctxt, host: str) -> list[FloatingIP]:
        found = self.client.call(ctxt, "get_floatingips_for_host", host=host)
        return [FloatingIP.from_primitive(item) for item in _list(found)]

    def update_floatingip_statuses(
        self, ctxt: Ctxt, router_id: str, fip_statuses: FloatingIPStatuses
    ) -> None:
        self.client.call(
            ctxt,
            "update_floatingip_statuses",
            router_id=router_id,
            fip_statuses=fip_statuses.to_primitive(),
        )

    def set_firewall_group_statuses(self, ctxt: Ctxt, statuses: FirewallGroupStatuses) -> None:
        client = self.client.prepare(version="2.1")  # new in 2.1
        client.call(ctxt, "set_firewall_group_statuses", statuses=statuses.to_primitive())

    def get_external_network_id(self, ctxt: Ctxt, host: str) -> str | None:
        found = self.client.call(ctxt, "get_external_network_id", host=host)
        return None if found is None else str(found)

    # tunnels (the L2 agent's VTEP peers)
    def tunnel_sync(
        self, ctxt: Ctxt, tunnel_ip: str, tunnel_type: str = "vxlan", host: str | None = None
    ) -> TunnelSync:
        """The VTEPs of the other live L2 agents; the service tells the others about
        this one with a ``tunnel_update`` cast."""
        found = self.client.call(
            ctxt, "tunnel_sync", tunnel_ip=tunnel_ip, tunnel_type=tunnel_type, host=host
        )
        return TunnelSync.from_primitive(found)

    # metadata agent
    def get_ports(self, ctxt: Ctxt, network_ids: list[str], ip_address: str) -> list[PortInfo]:
        """The ports on ``network_ids`` holding the fixed IP ``ip_address``."""
        found = self.client.call(ctxt, "get_ports", network_ids=network_ids, ip_address=ip_address)
        return [PortInfo.from_primitive(item) for item in _list(found)]


class ReportsApi:
    """Agent heartbeats (topic ``q-reports-plugin``)."""

    def __init__(self, transport: Transport, timeout: float = 30) -> None:
        self.client = RPCClient(transport, Target(REPORTS_TOPIC, version=API_VERSION), timeout)

    def report_state(self, ctxt: Ctxt, agent_state: AgentState, use_call: bool = True) -> str:
        """``"alive"`` (or ``""`` for a cast, which has no answer)."""
        if use_call:
            found = self.client.call(ctxt, "report_state", agent_state=agent_state.to_primitive())
            return str(found)
        self.client.cast(ctxt, "report_state", agent_state=agent_state.to_primitive())
        return ""


def running_versions() -> dict[str, str]:
    """What an agent reports it runs (``AgentState.resource_versions``): ``rpc``, then the
    version of every payload of :mod:`tinystack.network.payloads`."""
    return {"rpc": API_VERSION, **payload_versions(vars(payloads))}


# -- service -> agents --------------------------------------------------------------------------


class AgentNotifier:
    """The service's fanout casts to every L2, DHCP and L3 agent.

    A cast that cannot be sent is logged and dropped: agents resync on their own, and an
    API call must not fail because the bus did.
    """

    def __init__(
        self, transport: Transport, caps: Mapping[str, VersionCapFn] | None = None
    ) -> None:
        """``caps``: agent type -> its ``[upgrade_levels]`` cap."""
        caps = caps or {}

        def client(topic: str, agent_type: str) -> RPCClient:
            target = Target(topic, fanout=True, version=API_VERSION)
            return RPCClient(transport, target, version_cap=caps.get(agent_type))

        self.l2 = client(L2_AGENT_TOPIC, LINUXBRIDGE_AGENT)
        self.dhcp = client(DHCP_AGENT_TOPIC, DHCP_AGENT)
        self.l3 = client(L3_AGENT_TOPIC, L3_AGENT)

    @staticmethod
    def _cast(client: RPCClient, method: str, **kwargs: JSON) -> None:
        try:
            client.cast({}, method, **kwargs)
        except Exception:  # agents resync; an API call must not fail for this
            LOG.warning("could not cast %s to agents", method, exc_info=True)

    def port_update(self, port: PortChange) -> None:
        for client in (self.l2, self.dhcp):
            self._cast(client, "port_update", port=port.to_primitive())

    def port_delete(self, port_id: str, network_id: str) -> None:
        for client in (self.l2, self.dhcp):
            self._cast(client, "port_delete", port_id=port_id, network_id=network_id)

    def network_update(self, network_id: str) -> None:
        for client in (self.l2, self.dhcp):
            self._cast(client, "network_update", network_id=network_id)

    def network_delete(self, network_id: str) -> None:
        for client in (self.l2, self.dhcp):
            self._cast(client, "network_delete", network_id=network_id)

    def security_groups_changed(self, group_ids: list[str]) -> None:
        self._cast(self.l2, "security_groups_changed", security_groups=list(group_ids))

    def tunnel_update(self, tunnel: Tunnel, tunnel_type: str) -> None:
        self._cast(
            self.l2,
            "tunnel_update",
            tunnel_ip=tunnel.ip_address,
            tunnel_type=tunnel_type,
            host=tunnel.host,
        )

    def routers_updated(self, router_ids: list[str]) -> None:
        self._cast(self.l3, "routers_updated", routers=list(router_ids))

    def router_deleted(self, router_id: str) -> None:
        self._cast(self.l3, "router_deleted", router_id=router_id)


class L2AgentHandler(abc.ABC):
    """What an L2 agent does with the service's casts."""

    @abc.abstractmethod
    def port_update(self, port: PortChange) -> None: ...

    @abc.abstractmethod
    def port_delete(self, port_id: str, network_id: str) -> None: ...

    @abc.abstractmethod
    def network_update(self, network_id: str) -> None: ...

    @abc.abstractmethod
    def network_delete(self, network_id: str) -> None: ...

    @abc.abstractmethod
    def security_groups_changed(self, security_groups: list[str]) -> None: ...

    @abc.abstractmethod
    def tunnel_update(self, tunnel: Tunnel, tunnel_type: str) -> None:
        """Another host's VTEP (sent when its agent calls ``tunnel_sync``)."""


class DhcpAgentHandler(abc.ABC):
    """What a DHCP agent does with the service's casts."""

    @abc.abstractmethod
    def port_update(self, port: PortChange) -> None: ...

    @abc.abstractmethod
    def port_delete(self, port_id: str, network_id: str) -> None: ...

    @abc.abstractmethod
    def network_update(self, network_id: str) -> None: ...

    @abc.abstractmethod
    def network_delete(self, network_id: str) -> None: ...


class L3AgentHandler(abc.ABC):
    """What an L3 agent does with the service's casts."""

    @abc.abstractmethod
    def routers_updated(self, routers: list[str]) -> None: ...

    @abc.abstractmethod
    def router_deleted(self, router_id: str) -> None: ...


class L2AgentEndpoint:
    """What an L2 agent serves on ``q-agent-notifier``: decodes, then calls its handler."""

    target = Target("", version=API_VERSION)

    def __init__(self, handler: L2AgentHandler) -> None:
        self.handler = handler

    def port_update(self, ctxt: Ctxt, port: JSON) -> None:
        self.handler.port_update(PortChange.from_primitive(port))

    def port_delete(self, ctxt: Ctxt, port_id: str, network_id: str) -> None:
        self.handler.port_delete(port_id, network_id)

    def network_update(self, ctxt: Ctxt, network_id: str) -> None:
        self.handler.network_update(network_id)

    def network_delete(self, ctxt: Ctxt, network_id: str) -> None:
        self.handler.network_delete(network_id)

    def security_groups_changed(self, ctxt: Ctxt, security_groups: list[str]) -> None:
        self.handler.security_groups_changed([str(g) for g in security_groups])

    def tunnel_update(
        self, ctxt: Ctxt, tunnel_ip: str, tunnel_type: str = "vxlan", host: str | None = None
    ) -> None:
        self.handler.tunnel_update(Tunnel(ip_address=tunnel_ip, host=host), tunnel_type)


class DhcpAgentEndpoint:
    """What a DHCP agent serves on ``dhcp_agent``: decodes, then calls its handler."""

    target = Target("", version=API_VERSION)

    def __init__(self, handler: DhcpAgentHandler) -> None:
        self.handler = handler

    def port_update(self, ctxt: Ctxt, port: JSON) -> None:
        self.handler.port_update(PortChange.from_primitive(port))

    def port_delete(self, ctxt: Ctxt, port_id: str, network_id: str) -> None:
        self.handler.port_delete(port_id, network_id)

    def network_update(self, ctxt: Ctxt, network_id: str) -> None:
        self.handler.network_update(network_id)

    def network_delete(self, ctxt: Ctxt, network_id: str) -> None:
        self.handler.network_delete(network_id)


class L3AgentEndpoint:
    """What an L3 agent serves on ``l3_agent``: decodes, then calls its handler."""

    target = Target("", version=API_VERSION)

    def __init__(self, handler: L3AgentHandler) -> None:
        self.handler = handler

    def routers_updated(self, ctxt: Ctxt, routers: list[str]) -> None:
        self.handler.routers_updated([str(r) for r in routers])

    def router_deleted(self, ctxt: Ctxt, router_id: str) -> None:
        self.handler.router_deleted(router_id)
