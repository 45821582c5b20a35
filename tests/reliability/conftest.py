"""Fixtures of the reliability tests: one whole cloud (every service, fake compute
driver, no data plane) that the RBAC matrix and then the schema fuzzing share (the
matrix first: its projects and resources are its own, while the fuzzing's admin writes
random data anywhere), and tokens got straight from identity."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from tests.cloudproc import CloudProcess


def password_token(auth_url: str, user: str, password: str, scope: Mapping[str, object]) -> str:
    """A token of ``user`` (domain Default) with ``scope`` (Keystone's auth scope)."""
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "domain": {"id": "default"}, "password": password}
                },
            },
            "scope": scope,
        }
    }
    response = httpx.post(f"{auth_url}/auth/tokens", json=body, timeout=60)
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"]


def project_scope(name: str) -> dict[str, object]:
    return {"project": {"name": name, "domain": {"id": "default"}}}


@pytest.fixture(scope="package")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProcess]:
    state = Path(tmp_path_factory.mktemp("cloud"))
    proc = CloudProcess(state)
    proc.start(timeout=180)
    try:
        yield proc
    finally:
        proc.stop()
