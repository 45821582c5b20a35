"""The provider agent's start-up sync, on a store of its own (no data plane, no root)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from tests.support import make_runtime
from tinystack.load_balancer.agent.haproxy import SOCKET_PATH_MAX, stats_socket_path
from tinystack.load_balancer.agent.manager import ProviderAgent
from tinystack.load_balancer.service import SERVICE
from tinystack.load_balancer.services import provider_store
from tinystack.load_balancer.specs import HealthReport, LoadBalancerSpec


class Store:
    """Load balancers by id -> provisioning status, all noop_driver ones of host h1."""

    def __init__(self, statuses: dict[str, str]) -> None:
        self.statuses = statuses

    def spec(self, lb_id: str) -> LoadBalancerSpec | None:
        if lb_id not in self.statuses:
            return None
        return LoadBalancerSpec(id=lb_id, provider="noop_driver", vip_address="10.0.0.5",
                                vip_port_id="p-" + lb_id, vip_mac="", vip_prefixlen=24,
                                vip_gateway=None, vip_mtu=1500, enabled=True,
                                listeners=(), pools=())  # fmt: skip

    def applied(self, lb_id: str) -> None:
        if self.statuses.get(lb_id) != "PENDING_DELETE":  # as the real store: no-op then
            self.statuses[lb_id] = "ACTIVE"

    def failed(self, lb_id: str, reason: str) -> None:
        self.statuses[lb_id] = "ERROR"

    def deleted(self, lb_id: str) -> None:
        del self.statuses[lb_id]

    def _of(self, provider: str, deleting: bool) -> list[str]:
        if provider != "noop_driver":
            return []
        return [i for i, s in self.statuses.items() if (s == "PENDING_DELETE") == deleting]

    def hosted(self, host: str, provider: str) -> list[str]:
        return self._of(provider, False)

    def deleting(self, host: str, provider: str) -> list[str]:
        return self._of(provider, True)

    def release_orphans(self, host: str, before: float) -> list[str]:
        self.released = before
        return []

    def report(self, lb_id: str, report: HealthReport) -> None:
        pass


def test_sync_finishes_deletes_and_builds_a_killed_process_left(tmp_path: Path) -> None:
    """kill -9 of the load balancer service between a delete's commit (PENDING_DELETE)
    and the agent's delete left the load balancer PENDING_DELETE for ever (its cast died
    with the process; the sync's converge is a no-op on it): found by the chaos round
    (tests/chaos/test_families.py), ``GET /v2/lbaas/loadbalancers`` answering it
    PENDING_DELETE after the restart."""
    store = Store({"a": "PENDING_DELETE", "b": "PENDING_CREATE", "c": "PENDING_UPDATE"})
    agent = ProviderAgent(store, "h1", tmp_path, dataplane=False, prefix="t-", binary="haproxy",
                          interval=1.0)  # fmt: skip
    agent.sync()
    assert store.statuses == {"b": "ACTIVE", "c": "ACTIVE"}
    assert store.released <= time.time()  # orphaned VIP ports: only older than the agent


class Network:
    """The VIP ports the network service holds (what ``release_orphans`` reads)."""

    def __init__(self, ports: list[dict[str, Any]]) -> None:
        self.ports = {p["id"]: p for p in ports}
        self.released: list[str] = []

    def list_ports(self, **filters: Any) -> list[dict[str, Any]]:
        return [p for p in self.ports.values() if p["device_owner"] == filters["device_owner"]]

    def delete_port(self, port_id: str) -> bool:
        return self.ports.pop(port_id, None) is not None

    def update_port(self, port_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self.released.append(port_id)
        self.ports[port_id].update(body)
        return self.ports[port_id]


def _port(pid: str, lb_id: str, stamp: str, owned: bool = True) -> dict[str, Any]:
    return {"id": pid, "name": f"octavia-lb-{lb_id}" if owned else "mine",
            "device_owner": "Octavia", "device_id": f"lb-{lb_id}",
            "binding:host_id": "h1", "created_at": stamp, "updated_at": stamp}  # fmt: skip


def test_vip_ports_a_killed_create_left_are_released(tmp_path: Path) -> None:
    """kill -9 between making the VIP port and committing the load balancer's row left
    an ``Octavia`` port naming no load balancer (the chaos round's ``GET /v2.0/ports?
    device_owner=Octavia``): the sync deletes the service's own, releases a port the
    user gave, and leaves a port younger than the agent (a create under way) alone."""
    runtime = make_runtime(tmp_path, SERVICE, overrides={"load_balancer.host": "h1"})
    deps = SERVICE.deps(runtime)
    old, young = "2020-01-01T00:00:00Z", "2999-01-01T00:00:00Z"
    network = Network([_port("p1", "gone", old), _port("p2", "given", old, owned=False),
                       _port("p3", "making", young)])  # fmt: skip
    deps._clients["network"] = network
    store = provider_store.ProviderStore(deps)
    assert sorted(store.release_orphans("h1", time.time())) == ["p1", "p2"]
    assert set(network.ports) == {"p2", "p3"} and network.released == ["p2"]
    assert network.ports["p2"]["device_owner"] == ""
    deps.close()


def test_stats_socket_path_fits_a_unix_socket(tmp_path: Path) -> None:
    """A deep state directory (an xdist worker's basetemp made HAProxy refuse its
    configuration) gets a short socket path, the same one every time; a shallow one keeps
    ``stats.sock`` beside the configuration."""
    shallow = tmp_path / "lb"
    assert stats_socket_path(shallow) == shallow / "stats.sock"
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "lb-0123456789abcdef"
    short = stats_socket_path(deep)
    assert len(os.fsencode(short)) <= SOCKET_PATH_MAX
    assert short == stats_socket_path(deep) and short != stats_socket_path(deep.parent / "x")
    assert not short.is_relative_to(deep)
