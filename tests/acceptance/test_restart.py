"""`tinystack up` keeps its state across a restart and does not bootstrap twice."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
import pytest

from tests.cloudproc import CloudProcess

pytestmark = pytest.mark.cli


def _login(cloud: CloudProcess) -> str:
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": "admin",
                        "domain": {"id": "default"},
                        "password": cloud.password("admin"),
                    }
                },
            },
            "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
        }
    }
    resp = httpx.post(f"{cloud.auth_url}/auth/tokens", json=body)
    assert resp.status_code == 201, resp.text
    return resp.headers["x-subject-token"]


def test_restart_keeps_state_and_tokens(tmp_path: Path) -> None:
    cloud = CloudProcess(tmp_path / "state", ["identity"])
    cloud.start()
    try:
        token = _login(cloud)
        headers = {"X-Auth-Token": token}
        created = httpx.post(
            f"{cloud.auth_url}/projects", headers=headers, json={"project": {"name": "survivor"}}
        )
        assert created.status_code == 201, created.text
        users_before = httpx.get(f"{cloud.auth_url}/users", headers=headers).json()["users"]
        secrets_before = json.loads((cloud.state_dir / "secrets.json").read_text())
        assert cloud.stop(signal.SIGTERM) == 0  # a clean stop

        cloud.start()
        # The token issued before the restart is still valid.
        projects = httpx.get(f"{cloud.auth_url}/projects", headers=headers)
        assert projects.status_code == 200
        assert "survivor" in {p["name"] for p in projects.json()["projects"]}
        # Bootstrap did not run again: same users, same passwords, nothing duplicated.
        users_after = httpx.get(f"{cloud.auth_url}/users", headers=headers).json()["users"]
        assert sorted(u["id"] for u in users_after) == sorted(u["id"] for u in users_before)
        assert json.loads((cloud.state_dir / "secrets.json").read_text()) == secrets_before
        services = httpx.get(f"{cloud.auth_url}/services", headers=headers).json()["services"]
        assert [s["type"] for s in services].count("identity") == 1
        endpoints = httpx.get(f"{cloud.auth_url}/endpoints", headers=headers).json()["endpoints"]
        assert len(endpoints) == 3
        _login(cloud)
    finally:
        cloud.stop()


def test_sigint_stops_cleanly(tmp_path: Path) -> None:
    cloud = CloudProcess(tmp_path / "state", ["identity"])
    cloud.start()
    assert cloud.stop(signal.SIGINT) == 0
    assert not (cloud.state_dir / "tinystack.pid").exists()
