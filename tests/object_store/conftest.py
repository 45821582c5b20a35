"""What the object store's cloud tests share: one cloud per module (identity and the
object store, configured by the module's ``CLOUD_CONF``), a swiftclient connection as
admin, and the ``swift`` CLI."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from swiftclient import client as swift

from tests.cloudproc import BIN, CloudProcess


@pytest.fixture(scope="module")
def cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CloudProcess]:
    name = request.module.__name__.rsplit(".", 1)[-1]
    conf = str(getattr(request.module, "CLOUD_CONF", ""))
    proc = CloudProcess(Path(tmp_path_factory.mktemp(name)), ["identity", "object_store"], conf)
    proc.start(timeout=120)
    try:
        yield proc
    finally:
        proc.stop()


def connect(
    cloud: CloudProcess, user: str = "admin", password: str | None = None, project: str = "admin"
) -> swift.Connection:
    return swift.Connection(
        authurl=cloud.auth_url, user=user, key=password or cloud.password(user),
        auth_version="3", retries=0,
        os_options={"project_name": project, "user_domain_name": "Default",
                    "project_domain_name": "Default"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def conn(cloud: CloudProcess) -> swift.Connection:
    return connect(cloud)


def swift_cli(cloud: CloudProcess, *args: str, cwd: Path | None = None) -> str:
    """The ``swift`` CLI as admin; its stdout (a failure fails the test)."""
    env = {**cloud.env, "OS_AUTH_URL": cloud.auth_url, "OS_USERNAME": "admin",
           "OS_PASSWORD": cloud.password("admin"), "OS_PROJECT_NAME": "admin",
           "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
           "OS_IDENTITY_API_VERSION": "3"}  # fmt: skip
    done = subprocess.run([str(BIN / "swift"), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=180, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout
