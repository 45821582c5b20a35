"""Concurrent writers on the embedded SQLite database: no 500, no "database is locked"."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.identity.conftest import Cloud, unique


def test_twenty_threads_create_users_and_projects(
    cloud: Cloud, caplog: pytest.LogCaptureFixture
) -> None:
    domain = cloud.domain()
    start = threading.Barrier(20)
    shared_name = unique("same")

    def work(i: int) -> list[int]:
        start.wait()
        statuses = []
        for j in range(3):
            for path, key in (("/v3/users", "user"), ("/v3/projects", "project")):
                body = {key: {"name": f"{key}-{i}-{j}", "domain_id": domain["id"]}}
                if key == "user":
                    body[key]["password"] = "secret"
                statuses.append(cloud.post(path, json=body).status_code)
        # Everyone races for the same name: exactly one wins, the rest get 409.
        statuses.append(
            cloud.post("/v3/projects", json={"project": {"name": shared_name}}).status_code
        )
        return statuses

    with caplog.at_level(logging.ERROR), ThreadPoolExecutor(20) as pool:
        results = list(pool.map(work, range(20)))
    flat = [s for r in results for s in r[:-1]]
    assert flat == [201] * 120
    race = sorted(r[-1] for r in results)
    assert race == [201] + [409] * 19
    assert "database is locked" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    users = cloud.ok("GET", f"/v3/users?domain_id={domain['id']}")["users"]
    projects = cloud.ok("GET", f"/v3/projects?domain_id={domain['id']}")["projects"]
    assert len(users) == 60 and len(projects) == 60


def test_concurrent_token_issue_and_revocation(cloud: Cloud) -> None:
    project, user, _ = cloud.member()

    def issue(_: int) -> str:
        return cloud.project_token(user["id"], project["id"])

    with ThreadPoolExecutor(10) as pool:
        tokens = list(pool.map(issue, range(20)))
    assert len(set(tokens)) == 20
    cloud.ok("PATCH", f"/v3/users/{user['id']}", json={"user": {"password": "changed"}})
    with ThreadPoolExecutor(10) as pool:
        assert not any(pool.map(cloud.alive, tokens))
