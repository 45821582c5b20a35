"""The bootstrap topology and the service's start/stop (RPC transport, workers)."""

from __future__ import annotations

from tests.network.conftest import Api
from tinystack.network import rpcapi
from tinystack.network.payloads import AgentState
from tinystack.network.service import SERVICE, WORKERS_KEY
from tinystack.network.services import bootstrap

PROJECTS = {"admin": "admin-project", "demo": "project-a"}


def test_bootstrap_is_idempotent(api: Api) -> None:
    services = api.services
    assert bootstrap.bootstrap(services, PROJECTS.get) is True
    assert bootstrap.bootstrap(services, PROJECTS.get) is False
    nets = {n["name"]: n for n in api.get("/v2.0/networks", api.admin()).json()["networks"]}
    public, private = nets["public"], nets["private"]
    assert public["router:external"] and public["provider:network_type"] == "flat"
    assert public["provider:physical_network"] == "public"
    assert public["project_id"] == "admin-project" and private["project_id"] == "project-a"
    subnets = {s["name"]: s for s in api.get("/v2.0/subnets", api.admin()).json()["subnets"]}
    assert subnets["public-subnet"]["cidr"] == "172.24.4.0/24"
    assert subnets["public-subnet"]["enable_dhcp"] is False
    assert subnets["private-subnet"]["cidr"] == "10.0.0.0/26"
    router = api.get("/v2.0/routers").json()["routers"][0]
    assert router["name"] == "router1"
    assert router["external_gateway_info"]["network_id"] == public["id"]
    ports = api.get("/v2.0/ports", device_id=router["id"]).json()["ports"]
    assert [p["fixed_ips"][0]["ip_address"] for p in ports] == ["10.0.0.1"]


def test_bootstrap_without_projects(api: Api) -> None:
    assert bootstrap.bootstrap(api.services, lambda name: None) is False
    assert api.get("/v2.0/networks", api.admin()).json()["networks"] == []


def test_start_and_stop_serve_rpc(api: Api) -> None:
    runtime = api.runtime
    runtime.conf.set_override("transport_url", "inproc://network-start-test")
    SERVICE.start(runtime)
    try:
        workers = runtime.extra[WORKERS_KEY]
        reports = rpcapi.ReportsApi(workers.transport, timeout=10)
        state = AgentState(agent_type=rpcapi.L3_AGENT, host="h", binary="l3", topic="l3")
        assert reports.report_state({}, state) == "alive"
    finally:
        SERVICE.stop(runtime)
    assert WORKERS_KEY not in runtime.extra
    assert len(api.get("/v2.0/agents", api.admin()).json()["agents"]) == 1
