"""IPAM under concurrency: never a duplicate address, exhaustion is an upstream-style 409."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.network.conftest import Api, error_type

CONCURRENT = 100
FREE = 50


def prepare(api: Api) -> str:
    """A /24 whose pool has exactly FREE addresses left; returns the network id."""
    net = api.network()
    pool = [{"start": "10.20.0.10", "end": "10.20.0.69"}]  # 60 addresses
    api.subnet(net["id"], "10.20.0.0/24", allocation_pools=pool)
    taken = [
        {"network_id": net["id"], "fixed_ips": [{"ip_address": f"10.20.0.{i}"}]}
        for i in range(10, 20)
    ]
    assert api.post("/v2.0/ports", {"ports": taken}).status_code == 201
    return str(net["id"])


def hammer(api: Api, network_id: str) -> list[Any]:
    headers = api.headers()

    def create(_: int) -> Any:
        return api.client.post(
            "/v2.0/ports", json={"port": {"network_id": network_id}}, headers=headers
        )

    with ThreadPoolExecutor(max_workers=32) as pool:
        return list(pool.map(create, range(CONCURRENT)))


def check(api: Api, network_id: str, responses: list[Any]) -> None:
    created = [r for r in responses if r.status_code == 201]
    rejected = [r for r in responses if r.status_code != 201]
    assert len(created) == FREE, [r.text for r in rejected[:3]]
    assert len(rejected) == CONCURRENT - FREE
    assert all(r.status_code == 409 for r in rejected)
    assert all(error_type(r) == "IpAddressGenerationFailure" for r in rejected)
    addresses = [r.json()["port"]["fixed_ips"][0]["ip_address"] for r in created]
    assert len(set(addresses)) == FREE
    listed = api.get("/v2.0/ports", network_id=network_id).json()["ports"]
    all_ips = [ip["ip_address"] for p in listed for ip in p["fixed_ips"]]
    assert len(all_ips) == len(set(all_ips)) == FREE + 10


def test_concurrent_port_creates_on_sqlite(api: Api) -> None:
    api.put("/v2.0/quotas/project-a", {"quota": {"port": -1}}, api.admin())
    network_id = prepare(api)
    check(api, network_id, hammer(api, network_id))
