"""The distributed mode: services in separate processes on MariaDB/PostgreSQL and RabbitMQ.

Identity runs on PostgreSQL and placement on MariaDB, each in its own ``tinystack serve``
process sharing one tinystack.conf, the Fernet keys and secrets.json. A token identity
issues works on placement, and revoking it reaches placement through the revocation poll.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cloudproc import BIN, free_port
from tests.databases import database

pytestmark = [pytest.mark.mysql, pytest.mark.postgres]


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        try:
            if httpx.get(url, timeout=1).status_code in (200, 300):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(log.read_text()[-3000:])


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[dict[str, int]]:
    with database("postgres", "ts_dist_identity") as pg, database("mysql", "ts_dist_pl") as my:
        ports = {"identity": free_port(), "placement": free_port()}
        conf = tmp_path / "tinystack.conf"
        conf.write_text(
            f"[DEFAULT]\nstate_dir = {tmp_path}\nenabled_services = identity,placement\n"
            "transport_url = rabbit://guest:guest@127.0.0.1:5672/\n"
            f"[identity]\nport = {ports['identity']}\nconnection = {pg}\n"
            "password_hash_rounds = 4\n"
            f"[placement]\nport = {ports['placement']}\nconnection = {my}\n"
        )
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for name in ("identity", "placement"):
                log = tmp_path / f"{name}.log"
                with open(log, "wb") as out:
                    proc = subprocess.Popen(
                        [str(BIN / "tinystack"), "serve", name, "--config-file", str(conf)],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                procs.append(proc)
                _wait(f"http://127.0.0.1:{ports[name]}/", proc, log)
            yield ports
        finally:
            for proc in procs:
                proc.terminate()
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def test_services_in_separate_processes(processes: dict[str, int], tmp_path: Path) -> None:
    import json

    password = json.loads((tmp_path / "secrets.json").read_text())["admin"]
    auth_url = f"http://127.0.0.1:{processes['identity']}/v3"
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}  # fmt: skip
    resp = httpx.post(f"{auth_url}/auth/tokens", json=body)
    assert resp.status_code == 201, resp.text
    token = resp.headers["x-subject-token"]
    catalog = {e["type"]: e for e in resp.json()["token"]["catalog"]}
    assert {"identity", "placement"} <= set(catalog)

    placement = f"http://127.0.0.1:{processes['placement']}"
    headers = {"X-Auth-Token": token, "OpenStack-API-Version": "placement latest"}
    created = httpx.post(f"{placement}/resource_providers", headers=headers,
                         json={"name": "dist-rp"})  # fmt: skip
    assert created.status_code == 200, created.text
    assert httpx.get(f"{placement}/resource_providers", headers=headers).status_code == 200

    revoke = httpx.delete(f"{auth_url}/auth/tokens",
                          headers={"X-Auth-Token": token, "X-Subject-Token": token})  # fmt: skip
    assert revoke.status_code == 204
    deadline = time.monotonic() + 10
    status = 200
    while time.monotonic() < deadline and status != 401:
        status = httpx.get(f"{placement}/resource_providers", headers=headers).status_code
        time.sleep(0.2)
    assert status == 401, "placement still accepts a token identity revoked"
