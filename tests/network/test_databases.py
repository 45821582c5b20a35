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
