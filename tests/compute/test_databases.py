"""Compute on MariaDB and PostgreSQL: boot, list with filters and pages, resize, delete.

Each backend gets a throwaway database (skipped when the server is not reachable).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.compute.conftest import Env, MakeEnv
from tests.databases import BACKENDS, database


@pytest.fixture(scope="module", params=BACKENDS)
def db_env(request: pytest.FixtureRequest, make_env: MakeEnv) -> Iterator[Env]:
    with database(request.param, "compute_test") as url:
        yield make_env(f"[compute]\nconnection = {url}\nfake_hosts = 2\n")


def test_the_server_life_cycle(db_env: Env) -> None:
    env = db_env
    ids = [env.boot(name=f"db-{n}", metadata={"n": str(n)}, tags=[f"t{n}"])["id"] for n in range(3)]
    page = env.compute.get(
        "/servers", params={"limit": 2, "sort_key": "display_name", "sort_dir": "asc"}
    ).json()
    assert [s["name"] for s in page["servers"]] == ["db-0", "db-1"]
    marker = page["servers"][-1]["id"]
    rest = env.compute.get(
        "/servers",
        params={"limit": 2, "sort_key": "display_name", "sort_dir": "asc", "marker": marker},
    ).json()
    assert [s["name"] for s in rest["servers"]] == ["db-2"]
    assert len(env.compute.get("/servers", params={"tags-any": "t0,t1"}).json()["servers"]) == 2
    detail = env.compute.get("/servers/detail").json()["servers"]
    assert {s["metadata"]["n"] for s in detail} == {"0", "1", "2"}
    env.compute.post(f"/servers/{ids[0]}/action", {"resize": {"flavorRef": "2"}}, 202)
    env.wait(ids[0], "VERIFY_RESIZE")
    env.compute.post(f"/servers/{ids[0]}/action", {"confirmResize": None}, 204)
    assert env.wait(ids[0], "ACTIVE")["flavor"]["original_name"] == "m1.small"
    limits = env.compute.get("/limits").json()["limits"]["absolute"]
    assert limits["totalInstancesUsed"] == 3 and limits["totalCoresUsed"] == 3
    for sid in ids:
        env.compute.delete(f"/servers/{sid}", 204)
        env.wait(sid, "DELETED")
    assert env.compute.get("/servers").json()["servers"] == []
