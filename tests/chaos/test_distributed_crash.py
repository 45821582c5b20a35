"""kill -9 of one service at a time while the services run as separate processes over
RabbitMQ and MariaDB, during the mixed workload: the others carry on, the killed one
comes back, everything settles and nothing leaks (``tests/invariants.py``)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos import figures
from tests.chaos.cluster import Cluster, running
from tests.chaos.rounds import crash_round
from tests.chaos.workload import Workload
from tests.databases import database
from tests.telemetry.conftest import rabbit_vhost

pytestmark = [pytest.mark.mysql]

SERVICES = ["identity", "placement", "image", "compute", "volume", "network"]
#: the service killed in each round: compute's workers (conductor, scheduler, agent),
#: then the network service its builds call
KILLED = ["compute", "network"]
#: builds and deletes the killed compute left are settled after 5 s (default 300: other
#: conductors may be at work on younger ones)
CONF = """
[compute]
fake_hosts = 2
fake_spawn_delay = 0.5
api_settle_seconds = 0
orphan_timeout = 5
report_interval = 2
[volume]
api_settle_seconds = 0
"""


@contextlib.contextmanager
def _vhost() -> Iterator[str]:
    name = f"tsch-chaos-{uuid.uuid4().hex[:8]}"
    url = rabbit_vhost(name)
    if url is None:
        pytest.skip("no RabbitMQ virtual host can be made here")
    try:
        yield url
    finally:
        subprocess.run(["rabbitmqctl", "delete_vhost", name], capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with contextlib.ExitStack() as stack:
        transport = stack.enter_context(_vhost())
        conf = f"[DEFAULT]\ntransport_url = {transport}\n" + CONF
        for name in SERVICES:
            url = stack.enter_context(database("mysql", f"tsch_{name}"))
            conf += f"[{name}]\nconnection = {url}\n"
        state = Path(tmp_path_factory.mktemp("cluster"))
        yield stack.enter_context(running(state, SERVICES, conf))


@pytest.mark.parametrize("killed", KILLED)
def test_kill_one_service_during_mixed_workload(cluster: Cluster, killed: str) -> None:
    seed = int.from_bytes(os.urandom(2), "big")
    session = cluster.session()
    workload = Workload(session, seed=seed)
    workload.setup()
    name = f"distributed kill -9 {killed}"
    try:
        crash_round(workload, lambda: cluster.kill(killed), lambda: cluster.start(killed),
                    lambda: cluster.checked(session))  # fmt: skip
        assert not workload.server_errors, f"seed {seed}: {workload.server_errors}"
    except AssertionError:
        figures.record_round(name, 0, 1, len(workload.server_errors))
        raise
    figures.record_round(name, 1, 0, 0)
