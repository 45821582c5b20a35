"""The agent RPC interface, over the in-process transport and over RabbitMQ.

An agent-side client (:mod:`tinystack.network.rpcapi`) talks to the service's
endpoints; agent endpoints receive the service's fanout casts; compute gets
vif-plugged/unplugged events when ports go up and down.
"""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kombu.connection import Connection

from tests.network.conftest import ADMIN_PROJECT, Api
from tests.support import make_token
from tinystack.common.rpc import RPCServer, Target, Transport, get_transport
from tinystack.network import rpcapi
from tinystack.network.notifier import ComputeNotifier, Events, ServerEvent
from tinystack.network.payloads import (
    AgentState,
    DeviceDetails,
    DeviceStatus,
    DhcpPortRequest,
    FixedIP,
    FloatingIPStatuses,
    PortChange,
    Tunnel,
)
from tinystack.network.rpc import RpcServers
from tinystack.network.services import agent_versions

HOST = "compute-1"
RABBIT = "rabbit://guest:guest@127.0.0.1:5672/"
TRANSPORTS = ["inproc", pytest.param("rabbit", marks=pytest.mark.rabbit)]


class FakeCompute(ComputeNotifier):
    def __init__(self) -> None:
        self.events: list[ServerEvent] = []

    def notify(self, events: list[ServerEvent]) -> None:
        self.events.extend(events)


class L2Agent(rpcapi.L2AgentHandler):
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, object]]] = []
        self.seen = threading.Event()

    def _record(self, name: str, **kwargs: object) -> None:
        self.calls.append((name, kwargs))
        self.seen.set()

    def port_update(self, port: PortChange) -> None:
        self._record("port_update", port=port)

    def port_delete(self, port_id: str, network_id: str) -> None:
        self._record("port_delete", port_id=port_id)

    def network_update(self, network_id: str) -> None:
        self._record("network_update", network_id=network_id)

    def network_delete(self, network_id: str) -> None:
        self._record("network_delete", network_id=network_id)

    def security_groups_changed(self, security_groups: list[str]) -> None:
        self._record("security_groups_changed", security_groups=security_groups)

    def tunnel_update(self, tunnel: Tunnel, tunnel_type: str) -> None:
        self._record("tunnel_update", tunnel=tunnel, tunnel_type=tunnel_type)


def _listening() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


def _cleanup_rabbit(exchange: str) -> None:
    queues = [rpcapi.PLUGIN_TOPIC, rpcapi.REPORTS_TOPIC]
    queues += [f"{q}.{HOST}" for q in queues]
    exchanges = [exchange] + [
        f"{t}_fanout" for t in (rpcapi.PLUGIN_TOPIC, rpcapi.REPORTS_TOPIC, rpcapi.L2_AGENT_TOPIC)
    ]
    url = "amqp://guest:guest@127.0.0.1:5672//"
    with Connection(url, connect_timeout=2) as conn:
        for name in queues + [f"{rpcapi.L2_AGENT_TOPIC}.agent"]:
            channel = conn.channel()
            try:
                channel.queue_delete(name)
            except conn.channel_errors:
                pass
            finally:
                conn.maybe_close_channel(channel)
        for name in exchanges:
            channel = conn.channel()
            try:
                channel.exchange_delete(name)
            except conn.channel_errors:
                pass
            finally:
                conn.maybe_close_channel(channel)


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> Iterator[Transport]:
    if request.param == "inproc":
        with get_transport(f"inproc://network-{uuid.uuid4().hex}") as t:
            yield t
        return
    if not _listening():
        pytest.skip("no RabbitMQ listening on 127.0.0.1:5672")
    exchange = f"nettest_{uuid.uuid4().hex[:12]}"
    with get_transport(RABBIT, control_exchange=exchange, connect_timeout=2.0) as t:
        yield t
    _cleanup_rabbit(exchange)


Wired = tuple[Api, rpcapi.PluginApi, "FakeCompute", "L2Agent"]


@pytest.fixture
def wired(api: Api, transport: Transport) -> Iterator[Wired]:
    """The service serving RPC on ``transport``, an L2 agent listening to its casts."""
    services = api.services
    compute = FakeCompute()
    services.events = Events(transport, compute)
    servers = RpcServers(transport, services, host=HOST)
    servers.start()
    agent = L2Agent()
    endpoint = rpcapi.L2AgentEndpoint(agent)
    agent_server = RPCServer(transport, Target(rpcapi.L2_AGENT_TOPIC, server="agent"), [endpoint])
    agent_server.start()
    try:
        yield api, rpcapi.PluginApi(transport, timeout=20), compute, agent
    finally:
        agent_server.stop()
        agent_server.wait()
        servers.stop()


def _server_port(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    net = api.network()
    subnet = api.subnet(net["id"], "10.0.0.0/24")
    port = api.port(
        net["id"],
        api.admin(),
        device_owner="compute:nova",
        device_id="server-1",
        **{"binding:host_id": HOST, "project_id": "project-a"},
    )
    return port, subnet


def test_report_state_registers_agents(api: Api, transport: Transport) -> None:
    servers = RpcServers(transport, api.services, host=HOST)
    servers.start()
    try:
        reports = rpcapi.ReportsApi(transport, timeout=20)
        state = AgentState(
            agent_type=rpcapi.LINUXBRIDGE_AGENT,
            host=HOST,
            binary="lb-agent",
            topic=rpcapi.L2_AGENT_TOPIC,
            start_flag=True,
            configurations={"tunnel_types": ["vxlan"], "interface_mappings": {}},
            resource_versions={"rpc": "1.9", "AgentState": "1.1"},
        )
        assert reports.report_state({}, state) == "alive"
        assert reports.report_state({}, state) == "alive"
    finally:
        servers.stop()
    agents = api.get("/v2.0/agents", api.admin()).json()["agents"]
    assert [(a["agent_type"], a["host"], a["alive"]) for a in agents] == [
        (rpcapi.LINUXBRIDGE_AGENT, HOST, True)
    ]
    # what it runs, for rolling upgrades: upgrade check lists it, `auto` caps the L2 casts
    deps = api.services
    (running,) = agent_versions.report(deps.db, deps.opts)
    assert (running.host, running.rpc_version, running.older) == (HOST, "1.9", True)
    assert running.object_versions == {"AgentState": "1.1"}
    conf = api.runtime.conf
    conf.set_override("l2_agent", "auto", group="upgrade_levels")
    try:
        caps = agent_versions.caps_by_agent_type(conf, deps.db)
        assert caps[rpcapi.LINUXBRIDGE_AGENT]() == "1.9"
        assert caps[rpcapi.DHCP_AGENT]() is None  # no DHCP agent reports: no cap
    finally:
        conf.clear_override("l2_agent", group="upgrade_levels")
    assert rpcapi.running_versions()["rpc"] == rpcapi.API_VERSION


def test_device_lifecycle_and_compute_events(wired: Wired) -> None:
    api, plugin, compute, agent = wired
    port, subnet = _server_port(api)
    change = PortChange(port["id"], port["network_id"], tuple(port["security_groups"]))
    assert ("port_update", {"port": change}) in _wait_calls(agent, "port_update")
    details = plugin.get_device_details({}, "tap" + port["id"][:11], "agent-1", HOST)
    assert details.port_id == port["id"] and details.network_type == "vxlan"
    assert details.segmentation_id == 1 and details.mac_address == port["mac_address"]
    assert details.fixed_ips == tuple(FixedIP(**ip) for ip in port["fixed_ips"])
    assert details.mtu == 1450
    assert details.bridge_name == "brq" + port["network_id"][:11]
    assert api.get(f"/v2.0/ports/{port['id']}").json()["port"]["status"] == "BUILD"
    assert plugin.update_device_up({}, port["id"], "agent-1", HOST).exists is True
    assert api.get(f"/v2.0/ports/{port['id']}").json()["port"]["status"] == "ACTIVE"
    assert compute.events == [
        ServerEvent(
            name="network-vif-plugged", server_uuid="server-1", tag=port["id"], status="completed"
        )
    ]
    # live migration: the port names the destination in migrating_to; the destination's
    # agent reporting it up sends network-vif-plugged and leaves it as it was
    moving = {"binding:profile": {"migrating_to": "host-2"}}
    # as compute's service user (admin and service roles; upstream: rule:service_api)
    token = make_token(api.runtime, roles=["admin", "service"], project_id=ADMIN_PROJECT)
    service = {"X-Auth-Token": token}
    assert api.put(f"/v2.0/ports/{port['id']}", {"port": moving}, service).status_code == 200
    before = api.get(f"/v2.0/ports/{port['id']}", api.admin()).json()["port"]
    assert plugin.update_device_up({}, port["id"], "agent-2", "host-2").exists is True
    assert compute.events[-1] == compute.events[0] and len(compute.events) == 2
    after = api.get(f"/v2.0/ports/{port['id']}", api.admin()).json()["port"]
    assert after["status"] == "ACTIVE" and after["revision_number"] == before["revision_number"]
    assert after["binding:host_id"] == before["binding:host_id"] != "host-2"
    plugin.update_device_up({}, port["id"], "agent-3", "host-3")  # migrating elsewhere
    assert len(compute.events) == 2
    plugin.update_device_down({}, port["id"], "agent-1", HOST)
    assert compute.events[-1].name == "network-vif-unplugged"
    assert plugin.update_device_down({}, "tapnothere", "agent-1", HOST) == DeviceStatus(
        device="tapnothere", exists=False
    )
    missing = plugin.get_device_details({}, "tapnothere", "agent-1", HOST)
    assert missing == DeviceDetails(device="tapnothere") and not missing.exists
    listed = plugin.get_devices_details_list({}, [port["id"]], "agent-1", HOST)
    assert listed[0].device_owner == "compute:nova"
    assert [p.port_id for p in plugin.get_ports_for_host({}, HOST)] == [port["id"]]
    api.delete(f"/v2.0/ports/{port['id']}", api.admin())
    assert compute.events[-1].name == "network-vif-deleted"


def test_dhcp_interface(wired: Wired) -> None:
    api, plugin, _compute, _agent = wired
    port, subnet = _server_port(api)
    networks = plugin.get_active_networks_info({}, HOST)
    assert [n.id for n in networks] == [port["network_id"]]
    assert networks[0].subnets[0].cidr == "10.0.0.0/24"
    assert [p.id for p in networks[0].ports] == [port["id"]]
    request = DhcpPortRequest(network_id=port["network_id"], device_id=f"dhcp-{HOST}")
    dhcp = plugin.create_dhcp_port({}, request, HOST)
    assert dhcp.device_owner == "network:dhcp" and dhcp.fixed_ips
    again = plugin.create_dhcp_port({}, request, HOST)
    assert again.id == dhcp.id
    info = plugin.get_network_info({}, port["network_id"], HOST)
    assert info is not None
    assert {p.device_owner for p in info.ports} == {"compute:nova", "network:dhcp"}
    assert plugin.get_network_info({}, "no-such-network", HOST) is None
    plugin.release_dhcp_port({}, port["network_id"], f"dhcp-{HOST}", HOST)
    assert api.get(f"/v2.0/ports/{dhcp.id}", api.admin()).status_code == 404


def test_l3_interface(wired: Wired) -> None:
    api, plugin, _compute, _agent = wired
    port, subnet = _server_port(api)
    public, _ = api.external_network()
    router = api.router(external_gateway_info={"network_id": public["id"]})
    api.put(f"/v2.0/routers/{router['id']}/add_router_interface", {"subnet_id": subnet["id"]})
    fip = api.create("floatingip", floating_network_id=public["id"], port_id=port["id"])
    routers = plugin.sync_routers({}, HOST)
    assert [r.id for r in routers] == [router["id"]]
    synced = routers[0]
    assert synced.gw_port is not None and synced.gw_port.network_id == public["id"]
    assert synced.interfaces[0].subnets[0].gateway_ip == "10.0.0.1"
    assert synced.floatingips[0].id == fip["id"] and synced.enable_snat
    assert plugin.sync_routers({}, HOST, [router["id"]])[0].id == router["id"]
    assert [f.id for f in plugin.get_floatingips_for_host({}, HOST)] == [fip["id"]]
    assert plugin.get_external_network_id({}, HOST) == public["id"]
    address = port["fixed_ips"][0]["ip_address"]
    found = plugin.get_ports({}, [port["network_id"]], address)
    assert [(p.id, p.device_id, p.project_id) for p in found] == [
        (port["id"], "server-1", "project-a")
    ]
    assert plugin.get_ports({}, [port["network_id"]], "10.0.0.250") == []
    plugin.update_floatingip_statuses({}, router["id"], FloatingIPStatuses({fip["id"]: "ACTIVE"}))
    assert api.get(f"/v2.0/floatingips/{fip['id']}").json()["floatingip"]["status"] == "ACTIVE"


def test_security_group_rules_for_devices(wired: Wired) -> None:
    api, plugin, _compute, _agent = wired
    port, _subnet = _server_port(api)
    info = plugin.security_group_info_for_devices({}, [port["id"]])
    group_id = port["security_groups"][0]
    assert info.devices[port["id"]].security_groups == (group_id,)
    assert len(info.security_groups[group_id]) == 4
    assert info.sg_member_ips[group_id].ipv4 == (port["fixed_ips"][0]["ip_address"],)
    rules = plugin.security_group_rules_for_devices({}, [port["id"]]).devices[port["id"]]
    ingress = [r for r in rules.security_group_rules if r.direction == "ingress"]
    assert [r.remote_ip_prefix for r in ingress] == [port["fixed_ips"][0]["ip_address"] + "/32"]
    api.create(
        "security_group_rule",
        path="security-group-rules",
        security_group_id=group_id,
        direction="ingress",
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
    )
    calls = _wait_calls(_agent, "security_groups_changed")
    assert any(name == "security_groups_changed" for name, _ in calls)


def _wait_calls(agent: L2Agent, name: str) -> list[tuple[str, dict[str, object]]]:
    """The casts the agent got, once one called ``name`` arrived (or 10 s passed)."""
    for _ in range(100):
        if any(n == name for n, _ in agent.calls):
            break
        agent.seen.clear()
        agent.seen.wait(0.1)
    return agent.calls


def test_tunnel_sync_tells_the_other_agents(api: Api) -> None:
    """In process only: a cloud running beside the tests serves the same RabbitMQ queues,
    and this test reads what its own service recorded (the other tests cover RabbitMQ)."""
    with get_transport(f"inproc://network-{uuid.uuid4().hex}") as transport:
        _tunnel_sync(api, transport)


def _tunnel_sync(api: Api, transport: Transport) -> None:
    servers = RpcServers(transport, api.services, host=HOST)
    services = api.services
    services.events = Events(transport, FakeCompute())
    servers.start()
    agent = L2Agent()
    endpoint = rpcapi.L2AgentEndpoint(agent)
    agent_server = RPCServer(transport, Target(rpcapi.L2_AGENT_TOPIC, server="agent"), [endpoint])
    agent_server.start()
    try:
        reports = rpcapi.ReportsApi(transport, timeout=20)
        for host, ip in (("h1", "192.0.2.1"), ("h2", "192.0.2.2")):
            state = AgentState(
                agent_type=rpcapi.LINUXBRIDGE_AGENT,
                host=host,
                binary="lb-agent",
                topic=rpcapi.L2_AGENT_TOPIC,
                configurations={"tunneling_ip": ip},
            )
            assert reports.report_state({}, state) == "alive"
        plugin = rpcapi.PluginApi(transport, timeout=20)
        found = plugin.tunnel_sync({}, "192.0.2.1", "vxlan", "h1")
        assert found.tunnels == (Tunnel(ip_address="192.0.2.2", host="h2"),)
        assert agent.seen.wait(10)
        assert agent.calls == [
            ("tunnel_update", {"tunnel": Tunnel("192.0.2.1", "h1"), "tunnel_type": "vxlan"})
        ]
    finally:
        agent_server.stop()
        agent_server.wait()
        servers.stop()
