"""Races: 20 concurrent creates against a backend with room for 10 give exactly 10
available volumes and 10 in error with a user message, with capacity and quota usage
exact; 20 concurrent creates against a quota of 5 volumes admit exactly 5."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.volume.conftest import Env, MakeEnv, volume_conf


@pytest.fixture(scope="module")
def small(make_env: MakeEnv) -> Env:
    return make_env(
        volume_conf(
            file_capacity_gb=10,
            max_over_subscription_ratio=1.0,
            quota_volumes=100,
            scheduler_threads=8,
            manager_threads=8,
        )  # fmt: skip
    )


def _create_many(env: Env, count: int) -> list[Any]:
    def one(i: int) -> Any:
        return env.demo.post("/volumes", {"volume": {"size": 1, "name": f"race-{i}"}})

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


def test_twenty_creates_for_room_of_ten(small: Env) -> None:
    responses = _create_many(small, 20)
    assert [r.status_code for r in responses] == [202] * 20
    ids = [r.json()["volume"]["id"] for r in responses]
    final = [small.wait(v, "available", "error") for v in ids]
    statuses = sorted(v["status"] for v in final)
    assert statuses == ["available"] * 10 + ["error"] * 10
    for vol in final:
        if vol["status"] == "error":
            (message,) = small.messages(vol["id"])
            assert message["event_id"] == "VOLUME_VOLUME_001_003"
    (pool,) = small.admin.get("/scheduler-stats/get_pools", params={"detail": "1"}).json()["pools"]
    assert pool["capabilities"]["allocated_capacity_gb"] == 10
    project = small.project_id()
    quota = small.demo.get(f"/os-quota-sets/{project}", params={"usage": "1"}).json()["quota_set"]
    assert quota["volumes"]["in_use"] == 20 and quota["gigabytes"]["in_use"] == 20
    assert quota["volumes"]["reserved"] == 0
    files = list(small.volumes_dir.glob("volume-*"))
    assert len(files) == 10
    # deleting everything gives capacity and quota back, exactly
    for vid in ids:
        small.demo.delete(f"/volumes/{vid}", 202)
    for vid in ids:
        small.wait(vid, "deleted")
    quota = small.demo.get(f"/os-quota-sets/{project}", params={"usage": "1"}).json()["quota_set"]
    assert quota["volumes"]["in_use"] == 0 and quota["gigabytes"]["in_use"] == 0
    assert not list(small.volumes_dir.glob("volume-*"))
    again = [small.wait(r.json()["volume"]["id"], "available", "error")
             for r in _create_many(small, 10)]  # fmt: skip
    assert [v["status"] for v in again] == ["available"] * 10
    for vol in again:
        small.demo.delete(f"/volumes/{vol['id']}", 202)
    for vol in again:
        small.wait(vol["id"], "deleted")


def test_twenty_creates_against_a_quota_of_five(small: Env) -> None:
    project = small.project_id()
    small.admin.put(f"/os-quota-sets/{project}", {"quota_set": {"volumes": 5}}, 200)
    try:
        responses = _create_many(small, 20)
        codes = sorted(r.status_code for r in responses)
        assert codes == [202] * 5 + [413] * 15
        created = [r.json()["volume"]["id"] for r in responses if r.status_code == 202]
        for vid in created:
            small.wait(vid, "available")
        quota = small.demo.get(f"/os-quota-sets/{project}", params={"usage": "1"}).json()
        assert quota["quota_set"]["volumes"]["in_use"] == 5
        for vid in created:
            small.demo.delete(f"/volumes/{vid}", 202)
        for vid in created:
            small.wait(vid, "deleted")
    finally:
        small.admin.delete(f"/os-quota-sets/{project}", 200)
