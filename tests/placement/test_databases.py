"""The essentials on MariaDB and PostgreSQL: CRUD, claims, candidates and the claim race.

Each backend gets a uniquely named database for this module, dropped at the end;
the tests are skipped when the server is not reachable.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.databases import BACKENDS, database
from tests.support import make_runtime
from tinystack.placement.service import SERVICE

from .conftest import Api
from .test_concurrency import race_for_capacity, race_for_one_consumer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module", params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    with database(request.param, "placement_test") as url:
        yield url


@pytest.fixture
def api(tmp_path: Path, db_url: str) -> Iterator[Api]:
    runtime = make_runtime(tmp_path, SERVICE, db_url=db_url)
    with TestClient(SERVICE.create_app(runtime)) as client:
        yield Api(client, runtime)
    assert runtime.db is not None
    runtime.db.dispose()


def test_provider_inventory_allocation_candidates(api: Api) -> None:
    name = f"cn-{uuid.uuid4().hex[:6]}"
    rp = api.provider(name, inventory={"VCPU": 8, "MEMORY_MB": 4096}, traits=["HW_CPU_X86_AVX"])
    listed = api.get(f"/resource_providers?name={name}&resources=VCPU:8", status=200).json()
    assert [p["uuid"] for p in listed["resource_providers"]] == [rp]
    consumer = str(uuid.uuid4())
    api.allocate(consumer, {rp: {"VCPU": 2, "MEMORY_MB": 1024}})
    query = (
        "/allocation_candidates?resources=VCPU:6,MEMORY_MB:512&required=HW_CPU_X86_AVX"
        f"&in_tree={rp}"
    )
    body = api.get(query, status=200).json()
    assert [set(ar["allocations"]) for ar in body["allocation_requests"]] == [{rp}]
    assert body["provider_summaries"][rp]["resources"]["VCPU"] == {"capacity": 8, "used": 2}
    api.get(query.replace("VCPU:6", "VCPU:7"), status=200)
    full = api.get(query.replace("VCPU:6", "VCPU:7")).json()
    assert full["allocation_requests"] == []
    usages = api.get("/usages?project_id=project-a", status=200).json()["usages"]
    assert usages["INSTANCE"]["VCPU"] >= 2
    api.delete(f"/allocations/{consumer}", status=204)
    api.delete(f"/resource_providers/{rp}", status=204)


def test_nested_and_sharing_candidates(api: Api) -> None:
    agg = str(uuid.uuid4())
    host = api.provider(aggregates=[agg])
    numa0 = api.provider(parent=host, inventory={"VCPU": 4})
    numa1 = api.provider(parent=host, inventory={"VCPU": 4})
    disk = api.provider(
        inventory={"DISK_GB": 100}, traits=["MISC_SHARES_VIA_AGGREGATE"], aggregates=[agg]
    )
    query = f"/allocation_candidates?resources=VCPU:1,DISK_GB:10&member_of={agg}"
    body = api.get(query, status=200).json()
    found = sorted(sorted(ar["allocations"]) for ar in body["allocation_requests"])
    assert found == sorted([sorted([numa0, disk]), sorted([numa1, disk])])
    granular = (
        f"/allocation_candidates?resources1=VCPU:1&resources2=VCPU:1&group_policy=isolate"
        f"&in_tree1={host}&in_tree2={host}"
    )
    assert len(api.get(granular, status=200).json()["allocation_requests"]) == 2


def test_race_for_capacity(api: Api) -> None:
    race_for_capacity(api)


def test_race_for_one_consumer(api: Api) -> None:
    race_for_one_consumer(api)
