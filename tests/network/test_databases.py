"""The network API on MariaDB and PostgreSQL: IPAM and segments under concurrency, a topology.

Each test gets a uniquely named database, dropped at the end; the tests are
skipped when the server is not reachable.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.databases import BACKENDS, database
from tests.network.conftest import Api, MakeApi, error_type
from tests.network.test_ipam_concurrency import check, hammer, prepare


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    with database(request.param, "network_test") as url:
        yield url


@pytest.fixture
def db_api(make_api: MakeApi, db_url: str, tmp_path: Path) -> Iterator[Api]:
    api = make_api(db_url=db_url)
    yield api
    assert api.runtime.db is not None
    api.runtime.db.dispose()


def test_concurrent_port_creates(db_api: Api) -> None:
    db_api.put("/v2.0/quotas/project-a", {"quota": {"port": -1}}, db_api.admin())
    network_id = prepare(db_api)
    check(db_api, network_id, hammer(db_api, network_id))


def test_concurrent_tenant_networks_get_distinct_segments(db_api: Api) -> None:
    admin = db_api.admin()

    def create(i: int) -> dict[str, Any]:
        resp = db_api.client.post(
            "/v2.0/networks", json={"network": {"name": f"n{i}"}}, headers=admin
        )
        assert resp.status_code == 201, resp.text
        return dict(resp.json()["network"])

    with ThreadPoolExecutor(max_workers=10) as pool:
        nets = list(pool.map(create, range(20)))
    vnis = [n["provider:segmentation_id"] for n in nets]
    assert len(set(vnis)) == 20


def test_concurrent_segment_creates_on_one_network(db_api: Api) -> None:
    """Segments created at once on one network take distinct VNIs (and explicit ids
    that collide: one wins, the others get 409), as the network's own segments do."""
    admin = db_api.admin()
    net = db_api.network(admin)

    def create(i: int) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"network_id": net["id"], "network_type": "vxlan"}
        if i % 4 == 0:
            body["segmentation_id"] = 500
        resp = db_api.client.post("/v2.0/segments", json={"segment": body}, headers=admin)
        return resp.status_code, dict(resp.json())

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(create, range(16)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] * 13 + [409] * 3, results
    assert all(error_type_of(body) == "TunnelIdInUse" for status, body in results if status == 409)
    listed = db_api.get("/v2.0/segments", admin, network_id=net["id"]).json()["segments"]
    vnis = [s["segmentation_id"] for s in listed]
    assert len(vnis) == 14 and len(set(vnis)) == 14 and 500 in vnis
    assert db_api.delete(f"/v2.0/networks/{net['id']}", admin).status_code == 204
    again = db_api.network(
        admin, **{"provider:network_type": "vxlan", "provider:segmentation_id": 500}
    )
    assert again["provider:segmentation_id"] == 500


def test_concurrent_subnets_keep_all_or_none_on_segments(db_api: Api) -> None:
    """Subnets created at once on one network, some on its segment and some not: the
    network row lock makes the first one decide, so they never end up mixed."""
    admin = db_api.admin()
    net = db_api.network(admin)
    segment = db_api.get("/v2.0/segments", admin, network_id=net["id"]).json()["segments"][0]

    def create(i: int) -> int:
        body: dict[str, Any] = {"network_id": net["id"], "cidr": f"10.{i}.0.0/24", "ip_version": 4}
        if i % 2:
            body["segment_id"] = segment["id"]
        resp = db_api.client.post("/v2.0/subnets", json={"subnet": body}, headers=admin)
        assert resp.status_code in (201, 400), resp.text
        return int(resp.status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(1, 13)))
    subnets = db_api.get("/v2.0/subnets", admin, network_id=net["id"]).json()["subnets"]
    assert len(subnets) == statuses.count(201) >= 1
    assert len({s["segment_id"] is None for s in subnets}) == 1


def error_type_of(body: dict[str, Any]) -> str:
    return str(body["NeutronError"]["type"])


def test_topology(db_api: Api) -> None:
    public, public_subnet = db_api.external_network()
    net = db_api.network()
    subnet = db_api.subnet(net["id"], "10.0.0.0/24")
    router = db_api.router(external_gateway_info={"network_id": public["id"]})
    path = f"/v2.0/routers/{router['id']}"
    assert (
        db_api.put(f"{path}/add_router_interface", {"subnet_id": subnet["id"]}).status_code == 200
    )
    port = db_api.port(net["id"], fixed_ips=[{"ip_address": "10.0.0.20"}])
    dup = db_api.post(
        "/v2.0/ports",
        {"port": {"network_id": net["id"], "fixed_ips": [{"ip_address": "10.0.0.20"}]}},
    )
    assert dup.status_code == 409 and error_type(dup) == "IpAddressAlreadyAllocated"
    fip = db_api.create("floatingip", floating_network_id=public["id"], port_id=port["id"])
    assert fip["router_id"] == router["id"] and fip["fixed_ip_address"] == "10.0.0.20"
    assert db_api.delete(f"/v2.0/networks/{net['id']}").status_code == 409
    assert db_api.delete(f"/v2.0/floatingips/{fip['id']}").status_code == 204
    assert (
        db_api.put(f"{path}/remove_router_interface", {"subnet_id": subnet["id"]}).status_code
        == 200
    )
    assert db_api.delete(path).status_code == 204
    assert db_api.delete(f"/v2.0/ports/{port['id']}").status_code == 204
    assert db_api.delete(f"/v2.0/networks/{net['id']}").status_code == 204
    assert public_subnet["cidr"] == "172.24.4.0/24"
