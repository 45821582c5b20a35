"""A real ``tinystack up`` (identity, network, load balancer) on the Linux data plane.

One cloud per module, as root: the network agents (L2 on a ``local`` network's bridge)
and the load balancer's HAProxy provider, driven through the ``openstack loadbalancer``
CLI. Backends and the client are fake guests (``tests/network_dataplane/support.Guest``:
namespaces whose veth is the port's tap). Everything carries the run's tag; the
finalizer deletes what the tests made by id, stops the cloud, and fails if anything
tagged is left.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloudproc import CloudProcess
from tests.network_dataplane.support import (
    Guest,
    cleanup_tagged,
    remove_agent_leftovers,
    run,
    tools_missing,
    wait_for,
)

SERVICES = ["identity", "network", "load_balancer"]


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (namespaces, bridges, iptables)"
    missing = tools_missing() + [t for t in ("haproxy",) if shutil.which(t) is None]
    return "missing: " + ", ".join(missing) if missing else None


SKIP = _skip_reason()
#: the modules that need neither root nor a data plane
NOT_ROOT = ("test_routes.py", "test_agent_sync.py", "test_api.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if "tests/load_balancer/" in path and not path.endswith(NOT_ROOT):
            item.add_marker(pytest.mark.root)
            if SKIP:
                item.add_marker(pytest.mark.skip(reason=SKIP))


class LbCloud:
    def __init__(self, tmp: Path, tag: str) -> None:
        self.tag = tag
        self.chain_prefix = "T" + tag[1:]
        conf = f"""
[network]
dataplane = linux
router_namespace_prefix = {tag}-qr-
dhcp_namespace_prefix = {tag}-qd-
firewall_chain_prefix = {self.chain_prefix}
bootstrap_networks = false
bridge_mappings = public:{tag}-ex
dataplane_cleanup_on_stop = false
report_interval = 2
[load_balancer]
dataplane = linux
namespace_prefix = {tag}-lb-
health_interval = 0.3
"""
        self.proc = CloudProcess(tmp, SERVICES, conf)
        self.proc.start(timeout=120)
        self.guests: list[Guest] = []
        self.networks: list[str] = []
        self.token = self.proc.token()
        self.net = httpx.Client(base_url=self.proc.endpoint("network"),
                                headers={"X-Auth-Token": self.token}, timeout=30)  # fmt: skip
        self.lb = httpx.Client(base_url=self.proc.endpoint("load-balancer"),
                               headers={"X-Auth-Token": self.token}, timeout=30)  # fmt: skip

    def osc(self, *args: str) -> Any:
        try:
            return self.proc.osc(*args)
        except subprocess.CalledProcessError as exc:
            errors = [
                line
                for line in self.proc.log_file.read_text(errors="replace").splitlines()
                if " ERROR " in line or " WARNING " in line or "Traceback" in line
            ]
            log = "\n".join(errors[-40:])
            raise AssertionError(f"openstack {' '.join(args)}: {exc.stderr}\n{log}") from None

    def settle(self, lb_id: str, timeout: float = 20) -> None:
        """Wait for the load balancer to be ACTIVE again (the CLI's --wait polls every 3 s)."""

        def active() -> bool:
            found = self.lb.get(f"/v2/lbaas/loadbalancers/{lb_id}").json()["loadbalancer"]
            assert found["provisioning_status"] != "ERROR", found
            return bool(found["provisioning_status"] == "ACTIVE")

        assert wait_for(active, timeout, 0.05), f"{lb_id} did not settle"

    def network(self, cidr: str) -> tuple[dict[str, Any], dict[str, Any]]:
        body = {"name": f"{self.tag}-net", "provider:network_type": "local"}
        net = self.net.post("/v2.0/networks", json={"network": body}).json()["network"]
        self.networks.append(net["id"])
        subnet = {"network_id": net["id"], "cidr": cidr, "ip_version": 4, "enable_dhcp": False}
        found = self.net.post("/v2.0/subnets", json={"subnet": subnet}).json()["subnet"]
        return net, found

    def guest(self, name: str, network_id: str, prefixlen: int) -> Guest:
        """A fake guest on the network: a port bound to this host, a namespace on its tap."""
        body = {
            "network_id": network_id,
            "device_owner": "compute:nova",
            "device_id": str(uuid.uuid4()),
            "binding:host_id": self.host,
            "port_security_enabled": False,
        }
        port = self.net.post("/v2.0/ports", json={"port": body}).json()["port"]
        guest = Guest(f"{self.tag}-{name}", port)
        self.guests.append(guest)
        guest.static(f"{guest.fixed_ip}/{prefixlen}", None)
        return guest

    @property
    def host(self) -> str:
        import socket

        return socket.gethostname()

    def destroy(self) -> None:
        for lb in self.lb.get("/v2/lbaas/loadbalancers").json().get("loadbalancers", []):
            self.lb.delete(f"/v2/lbaas/loadbalancers/{lb['id']}", params={"cascade": "true"})
        for guest in self.guests:
            guest.destroy()
            self.net.delete(f"/v2.0/ports/{guest.port['id']}")
        for net_id in self.networks:
            for port in self.net.get("/v2.0/ports", params={"network_id": net_id}).json()["ports"]:
                self.net.delete(f"/v2.0/ports/{port['id']}")
            self.net.delete(f"/v2.0/networks/{net_id}")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LbCloud]:
    if SKIP:
        pytest.skip(SKIP)
    tag = "tse" + uuid.uuid4().hex[:4]
    found = None
    try:
        found = LbCloud(tmp_path_factory.mktemp("lbcloud"), tag)
        yield found
    finally:
        bridges = []
        if found is not None:
            try:
                found.destroy()
            finally:
                found.proc.stop()
            # the networks' bridges and the physnet bridge (not the default br-ex-ts:
            # another run's or a cloud's of this host)
            bridges = ["brq" + n[:11] for n in found.networks] + [f"{tag}-ex"]
            remove_agent_leftovers(found.chain_prefix)
        for bridge in bridges:
            if os.path.exists(f"/sys/class/net/{bridge}"):
                run(["ip", "link", "delete", bridge], check=False)
        left = cleanup_tagged(tag)
        assert not left, f"left behind: {left}"
