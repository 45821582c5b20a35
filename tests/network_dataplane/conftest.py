"""A network service running in this process with its Linux agents, driven through its API.

Everything the tests make carries the run's tag (namespaces ``<tag>-…``, the public
bridge ``<tag>-ex``, chains ``T<tag>-…``, host names ``<tag>-h1``); VNIs come from a
range of their own. The finalizers stop the agents with cleanup, then remove whatever
still carries the tag and fail the run if anything was left behind.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.network_dataplane.support import (
    Guest,
    Namespace,
    bridge_tables,
    cleanup_tagged,
    remove_agent_leftovers,
    run,
    tools_missing,
    wait_for,
)
from tests.support import make_runtime, make_token
from tinystack.common.service import Runtime
from tinystack.common.timeutils import new_hex_id, new_uuid
from tinystack.network.agents import arp_protect
from tinystack.network.agents.dataplane import DataPlane
from tinystack.network.conf import Options
from tinystack.network.service import SERVICE, WORKERS_KEY

PUBLIC_CIDR = "203.0.113.0/24"
#: [network] dns_domain: not upstream's default openstacklocal, so ports keep their
#: dns_name (DevStack's gate sets one too)
DNS_DOMAIN = "dataplane.test."
UNDERLAY = "198.18.{n}.{h}"


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces, bridges, iptables)"
    missing = tools_missing()
    if missing:
        return "missing tools: " + ", ".join(missing)
    return None


SKIP = _skip_reason()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "network_dataplane" in str(item.fspath):
            item.add_marker(pytest.mark.root)
            if SKIP:
                item.add_marker(pytest.mark.skip(reason=SKIP))


def has_dnsmasq() -> bool:
    return shutil.which("dnsmasq") is not None


class Cloud:
    """The service (API + RPC + agents of host 1) and helpers to drive it."""

    def __init__(self, tmp: Path, tag: str) -> None:
        self.tag = tag
        self.tmp = tmp
        self.host = f"{tag}-h1"
        self.chain_prefix = "T" + tag[1:]
        self.public_bridge = f"{tag}-ex"
        self.vni_base = 20000 + int(tag[1:], 16) % 40000
        self.underlay_bridge = f"{tag}-u"
        self.subnet_octet = int(tag[1:], 16) % 200 + 20
        self.local_ip = UNDERLAY.format(n=self.subnet_octet, h=1)
        self.namespaces: list[Namespace] = []
        self.extra_planes: list[DataPlane] = []
        # the VXLAN underlay of host 1: a bridge holding its VTEP address
        run(["ip", "link", "add", self.underlay_bridge, "type", "bridge"])
        run(["ip", "addr", "add", f"{self.local_ip}/24", "dev", self.underlay_bridge])
        run(["ip", "link", "set", self.underlay_bridge, "up"])
        self.md_port = 0
        overrides = {
            "transport_url": f"inproc://dataplane-{tag}",
            "network.dataplane": "linux",
            "network.host": self.host,
            "network.bridge_mappings": [f"public:{self.public_bridge}"],
            "network.local_ip": self.local_ip,
            "network.vni_ranges": [f"{self.vni_base}:{self.vni_base + 99}"],
            "network.network_vlan_ranges": ["public:100:199"],
            "network.router_namespace_prefix": f"{tag}-qr-",
            "network.dhcp_namespace_prefix": f"{tag}-qd-",
            "network.firewall_chain_prefix": self.chain_prefix,
            "network.report_interval": 2.0,
            "network.metering_report_interval": 2.0,
            "network.metadata_proxy_shared_secret": "s3cret",
            "network.nova_metadata_url": "http://127.0.0.1:1",
            "network.dataplane_cleanup_on_stop": True,
            "network.bootstrap_networks": False,
            "network.notify_compute_on_port_status_changes": False,
            "network.dns_domain": DNS_DOMAIN,
        }
        self.runtime: Runtime = make_runtime(tmp / "state", SERVICE, overrides=overrides)
        self.client = TestClient(SERVICE.create_app(self.runtime), raise_server_exceptions=False)
        SERVICE.start(self.runtime)
        self.admin_token = make_token(self.runtime, roles=["admin"], project_id="admin-project")
        self.project = "project-" + tag
        self.member_token = make_token(self.runtime, roles=["member"], project_id=self.project)
        assert self.plane is not None, "the data plane did not start"
        assert self.plane.wait_synced(30)

    # -- service -------------------------------------------------------------------------

    @property
    def opts(self) -> Options:
        return Options.from_conf(self.runtime.conf)

    @property
    def plane(self) -> DataPlane:
        plane = self.runtime.extra[WORKERS_KEY].dataplane
        assert isinstance(plane, DataPlane)
        return plane

    def restart_agents(self) -> DataPlane:
        """Stop host 1's agents without cleaning up and start new ones (a restart)."""
        workers = self.runtime.extra[WORKERS_KEY]
        old: DataPlane = workers.dataplane
        old.stop(cleanup=False)
        plane = DataPlane(
            self.opts, workers.transport, old.ctx.state_dir, metadata_url=old.ctx.metadata_url
        )
        workers.dataplane = plane
        plane.start()
        assert plane.wait_synced(30)
        return plane

    def set_metadata_url(self, url: str) -> None:
        assert self.plane.metadata is not None
        self.plane.metadata.url = url.rstrip("/")

    def stop(self) -> None:
        for plane in self.extra_planes:
            plane.stop(cleanup=True)
        SERVICE.stop(self.runtime)
        self.client.close()
        run(["ip", "link", "delete", self.underlay_bridge], check=False)

    # -- API -----------------------------------------------------------------------------

    def headers(self, admin: bool = False) -> dict[str, str]:
        return {"X-Auth-Token": self.admin_token if admin else self.member_token}

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        admin: bool = False,
        expect: int | None = None,
    ) -> Any:
        resp = self.client.request(method, "/v2.0" + path, json=body, headers=self.headers(admin))
        if expect is not None:
            assert resp.status_code == expect, resp.text
        return resp.json() if resp.content else None

    def create(self, kind: str, admin: bool = False, path: str = "", **body: Any) -> Any:
        out = self.call("POST", f"/{path or kind + 's'}", {kind: body}, admin, expect=201)
        return out[kind]

    def update_port(self, port_id: str, admin: bool = False, **values: Any) -> Any:
        """PUT ``values`` on a port (expecting 200); the updated port."""
        return self.call("PUT", f"/ports/{port_id}", {"port": values}, admin, expect=200)["port"]

    def rule(self, group_id: str, direction: str = "ingress", **body: Any) -> Any:
        """A security group rule (``protocol``, ``port_range_min``, ... in ``body``)."""
        return self.create(
            "security_group_rule",
            path="security-group-rules",
            security_group_id=group_id,
            direction=direction,
            **body,
        )

    def get(self, kind: str, item_id: str) -> Any:
        path = {"security_group_rule": "security-group-rules"}.get(kind, kind + "s")
        return self.call("GET", f"/{path}/{item_id}", admin=True, expect=200)[kind]

    def delete(self, path: str, admin: bool = True) -> None:
        self.call("DELETE", path, admin=admin, expect=204)

    def network(self, cidr: str, **body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        net = self.create("network", name=f"{self.tag}-net", **body)
        subnet = self.create("subnet", network_id=net["id"], cidr=cidr, ip_version=4)
        return net, subnet

    def server_port(self, network_id: str, host: str | None = None, **body: Any) -> Any:
        return self.create(
            "port",
            admin=True,
            network_id=network_id,
            project_id=self.project,
            device_owner="compute:nova",
            device_id=new_uuid(),
            **{"binding:host_id": host or self.host},
            **body,
        )

    def port_status(self, port_id: str) -> str:
        return str(self.get("port", port_id)["status"])

    def wait_active(self, port_id: str, timeout: float = 10) -> bool:
        return bool(wait_for(lambda: self.port_status(port_id) == "ACTIVE", timeout))

    def public_network(self) -> tuple[dict[str, Any], dict[str, Any]]:
        provider: dict[str, Any] = {
            "router:external": True,
            "provider:network_type": "flat",
            "provider:physical_network": "public",
        }
        net = self.create("network", admin=True, name=f"{self.tag}-public", **provider)
        subnet = self.create(
            "subnet",
            admin=True,
            network_id=net["id"],
            cidr=PUBLIC_CIDR,
            ip_version=4,
            gateway_ip="203.0.113.1",
            enable_dhcp=False,
            allocation_pools=[{"start": "203.0.113.10", "end": "203.0.113.200"}],
        )
        return net, subnet

    # -- fake hosts ----------------------------------------------------------------------

    def guest(self, port: dict[str, Any], host_ns: str | None = None) -> Guest:
        name = f"{self.tag}-g{len(self.namespaces)}"
        guest = Guest(name, port, host_ns)
        self.namespaces.append(guest)
        return guest

    def namespace(self, suffix: str) -> Namespace:
        ns = Namespace(f"{self.tag}-{suffix}")
        self.namespaces.append(ns)
        return ns

    def outside_host(self, address: str = "203.0.113.1/24") -> Namespace:
        """A host on the public bridge (it holds the external subnet's gateway address)."""
        ns = self.namespace(f"out{len(self.namespaces)}")
        near = f"{self.tag}-o{len(self.namespaces)}"
        assert wait_for(lambda: os.path.exists(f"/sys/class/net/{self.public_bridge}"), 10)
        run(["ip", "link", "add", near, "type", "veth", "peer", "name", "eth0", "netns", ns.name])
        run(["ip", "link", "set", near, "master", self.public_bridge, "up"])
        ns.sh("ip", "link", "set", "eth0", "up")
        ns.sh("ip", "addr", "add", address, "dev", "eth0")
        return ns

    def chain_rules(self, family: int = 4) -> list[str]:
        save = "iptables-save" if family == 4 else "ip6tables-save"
        out = subprocess.run([save], capture_output=True, text=True, check=True).stdout
        return [line for line in out.splitlines() if self.chain_prefix + "-" in line]

    def ingress_rules(self, port_id: str) -> str:
        """The rules of a port's ingress chain (IPv4), one per line."""
        head = f"-A {self.chain_prefix}-I{port_id[:11]} "
        return "\n".join(r for r in self.chain_rules(4) if r.startswith(head))

    def destroy_namespaces_of(self, namespaces: list[Any]) -> None:
        for ns in namespaces:
            ns.destroy()
            self.namespaces.remove(ns)

    def destroy_namespaces(self) -> None:
        for ns in reversed(self.namespaces):
            ns.destroy()
        self.namespaces = []


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    if SKIP:
        pytest.skip(SKIP)
    tag = "t" + new_hex_id()[:5]
    cloud = None
    try:
        cloud = Cloud(tmp_path_factory.mktemp("dataplane"), tag)
        yield cloud
    finally:
        if cloud is not None:
            cloud.destroy_namespaces()
            cloud.stop()
            left_rules = cloud.chain_rules(4) + cloud.chain_rules(6)
            if arp_protect.available():
                tables = run(["nft", "list", "tables", "bridge"]).split()
                for table in bridge_tables(cloud.chain_prefix):
                    if table in tables:
                        left_rules.append(f"nft table bridge {table}")
        else:
            left_rules = []
        left = cleanup_tagged(tag)
        if cloud is not None:
            remove_agent_leftovers(cloud.chain_prefix)
        assert not left, f"left behind: {left}"
        assert not left_rules, f"rules left behind: {left_rules}"


@pytest.fixture
def fresh(cloud: Cloud) -> Iterator[Cloud]:
    """The cloud, with this test's fake guests and hosts removed after it."""
    yield cloud
    cloud.destroy_namespaces()
