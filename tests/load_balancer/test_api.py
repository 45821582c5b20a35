"""The Octavia v2 API on a real ``tinystack up`` without a data plane (the no-op provider):
what octavia-tempest-plugin's API tests expect of member batch updates, refusal order,
L7 policy action changes and the protocols the no-op provider takes. No root needed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloudproc import CloudProcess

LBS = "/v2/lbaas/loadbalancers"
HTTP80 = {"protocol": "HTTP", "protocol_port": 80}


class Api:
    def __init__(self, proc: CloudProcess) -> None:
        self.proc = proc
        self.net = self._client("network", proc.token())
        self.lb = self._client("load-balancer", proc.token())
        self.demo = self._client("load-balancer", proc.token(cloud="tinystack-demo"))

    def _client(self, service: str, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.proc.endpoint(service), headers={"X-Auth-Token": token}, timeout=30
        )

    def post(self, path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        response = self.lb.post(path, json=body)
        assert response.status_code == status, (path, body, response.text)
        found: dict[str, Any] = response.json() if response.content else {}
        return found

    def settle(self, lb_id: str) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            lb = self.lb.get(f"{LBS}/{lb_id}").json()["loadbalancer"]
            if lb["provisioning_status"] == "ACTIVE":
                return
            time.sleep(0.05)
        raise AssertionError(f"{lb_id} did not settle")

    def pool(self, lb_id: str, protocol: str) -> dict[str, Any]:
        body = {"loadbalancer_id": lb_id, "protocol": protocol, "lb_algorithm": "ROUND_ROBIN"}
        found: dict[str, Any] = self.post("/v2/lbaas/pools", {"pool": body})["pool"]
        return found

    def load_balancer(self) -> tuple[str, str]:
        """A no-op load balancer on a new subnet: (its id, the subnet's id)."""
        body: dict[str, Any] = {"network": {"name": "lb-api"}}
        net = self.net.post("/v2.0/networks", json=body).json()["network"]
        subnet = {"network_id": net["id"], "cidr": "10.77.0.0/24", "ip_version": 4}
        sub = self.net.post("/v2.0/subnets", json={"subnet": subnet}).json()["subnet"]
        lb = self.post(LBS, {"loadbalancer": {"vip_subnet_id": sub["id"]}})["loadbalancer"]
        self.settle(lb["id"])
        return lb["id"], sub["id"]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    proc = CloudProcess(
        Path(tmp_path_factory.mktemp("lbapi")), ["identity", "network", "load_balancer"]
    )
    proc.start(timeout=120)
    try:
        yield Api(proc)
    finally:
        proc.stop()


def test_member_batch_update(api: Api) -> None:
    """``PUT .../members``: 202; kept members updated, new ones made, the rest deleted
    (all of them kept with ``additive_only``); refusals before any change."""
    lb_id, subnet_id = api.load_balancer()
    pool = api.pool(lb_id, "HTTP")
    api.settle(lb_id)
    members = f"/v2/lbaas/pools/{pool['id']}/members"
    for port in (80, 81):
        api.post(members, {"member": {"address": "192.0.2.1", "protocol_port": port}})
        api.settle(lb_id)
    wanted = [
        {"address": "192.0.2.1", "protocol_port": 81, "name": "kept", "weight": 7},
        {"address": "192.0.2.5", "protocol_port": 82, "subnet_id": subnet_id, "backup": True},
    ]
    bad = api.lb.put(members, json={"members": [wanted[0], wanted[0]]})
    assert bad.status_code == 400, bad.text
    assert (
        api.lb.put(members, json={"members": [{"address": "x", "protocol_port": 1}]}).status_code
        == 400
    )
    assert api.demo.put(members, json={"members": wanted}).status_code in (403, 404)
    response = api.lb.put(members, json={"members": wanted})
    assert response.status_code == 202 and not response.content, response.text
    api.settle(lb_id)
    found = {(m["address"], m["protocol_port"]): m for m in api.lb.get(members).json()["members"]}
    assert set(found) == {("192.0.2.1", 81), ("192.0.2.5", 82)}
    assert found[("192.0.2.1", 81)]["name"] == "kept" and found[("192.0.2.1", 81)]["weight"] == 7
    assert found[("192.0.2.5", 82)]["backup"] is True
    assert all(m["provisioning_status"] == "ACTIVE" for m in found.values())
    extra = [{"address": "192.0.2.9", "protocol_port": 90}]
    response = api.lb.put(members, params={"additive_only": "true"}, json={"members": extra})
    assert response.status_code == 202
    api.settle(lb_id)
    assert len(api.lb.get(members).json()["members"]) == 3


def test_member_refusals_come_in_octavias_order(api: Api) -> None:
    """Another project's member is refused (403) before the body's subnet is looked up
    (it would see none: a 400)."""
    lb_id, _ = api.load_balancer()
    pool = api.pool(lb_id, "TCP")
    api.settle(lb_id)
    body = {"member": {"address": "192.0.2.1", "protocol_port": 80,
                       "subnet_id": "00000000-0000-0000-0000-000000000000"}}  # fmt: skip
    response = api.demo.post(f"/v2/lbaas/pools/{pool['id']}/members", json=body)
    assert response.status_code == 403, response.text
    api.post(f"/v2/lbaas/pools/{pool['id']}/members", body, 400)


def test_noop_provider_takes_udp_and_sctp(api: Api) -> None:
    """Octavia's no-op provider takes every protocol (only HAProxy refuses UDP/SCTP, 501)."""
    lb_id, _ = api.load_balancer()
    for protocol, monitor in (("UDP", "UDP-CONNECT"), ("SCTP", "SCTP")):
        pool = api.pool(lb_id, protocol)
        api.settle(lb_id)
        hm = {"pool_id": pool["id"], "type": monitor, "delay": 2, "timeout": 1, "max_retries": 2}
        api.post("/v2/lbaas/healthmonitors", {"healthmonitor": hm})
        api.settle(lb_id)


def test_l7_policy_action_change_clears_the_old_target(api: Api) -> None:
    lb_id, _ = api.load_balancer()
    listener = api.post("/v2/lbaas/listeners", {"listener": {"loadbalancer_id": lb_id, **HTTP80}})[
        "listener"
    ]
    api.settle(lb_id)
    pool = api.pool(lb_id, "HTTP")
    api.settle(lb_id)
    body = {"listener_id": listener["id"], "action": "REDIRECT_TO_URL",
            "redirect_url": "http://localhost", "redirect_http_code": 301}  # fmt: skip
    policy = api.post("/v2/lbaas/l7policies", {"l7policy": body})["l7policy"]
    api.settle(lb_id)
    change = {"l7policy": {"action": "REDIRECT_TO_POOL", "redirect_pool_id": pool["id"]}}
    updated = api.lb.put(f"/v2/lbaas/l7policies/{policy['id']}", json=change)
    assert updated.status_code == 200, updated.text
    found = updated.json()["l7policy"]
    assert found["redirect_pool_id"] == pool["id"]
    assert found["redirect_url"] is None and found["redirect_http_code"] is None


def test_allowed_cidrs_match_the_vips_ip_version(api: Api) -> None:
    lb_id, _ = api.load_balancer()
    body = {"loadbalancer_id": lb_id, **HTTP80, "allowed_cidrs": ["192.0.1.0/24", "2001:db8::/64"]}
    api.post("/v2/lbaas/listeners", {"listener": body}, 400)
    api.post("/v2/lbaas/listeners", {"listener": {**body, "allowed_cidrs": ["bogus"]}}, 400)
    made = api.post(
        "/v2/lbaas/listeners", {"listener": {**body, "allowed_cidrs": ["192.0.1.0/24"]}}
    )
    api.settle(lb_id)
    path = f"/v2/lbaas/listeners/{made['listener']['id']}"
    bad = api.lb.put(path, json={"listener": {"allowed_cidrs": ["2001:db8::/64"]}})
    assert bad.status_code == 400, bad.text


def test_listeners_of_other_transports_share_a_port(api: Api) -> None:
    lb_id, _ = api.load_balancer()
    for protocol, status in (("HTTP", 201), ("UDP", 201), ("SCTP", 201), ("TCP", 409)):
        body = {"loadbalancer_id": lb_id, "protocol": protocol, "protocol_port": 8010}
        api.post("/v2/lbaas/listeners", {"listener": body}, status)
        api.settle(lb_id)
