"""Broker and database faults in the distributed mode, on a throwaway RabbitMQ and
MariaDB of the test's own (the machine's shared servers are not restarted):

* RabbitMQ restarted while servers boot: RPC reconnects, no cast is lost (every server
  ends ACTIVE, or ERROR with a fault), calls fail cleanly or succeed, no 500; boots after
  the restart work; nothing leaks.
* MariaDB killed and restarted under API load: every request succeeds, or answers 503
  with Retry-After while the database is away, never a 500; afterwards every request
  succeeds again within a bounded window, and no row is half-written.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import invariants
from tests.chaos import figures
from tests.chaos.cluster import Cluster, running
from tests.chaos.rounds import crash_round
from tests.chaos.servers import MariaServer, RabbitServer
from tests.chaos.workload import Workload

SERVICES = ["identity", "placement", "image", "compute", "volume", "network"]
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


class Faulty:
    def __init__(self, cluster: Cluster, rabbit: RabbitServer, maria: MariaServer) -> None:
        self.cluster = cluster
        self.rabbit = rabbit
        self.maria = maria


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faulty]:
    base = Path(tmp_path_factory.mktemp("faults"))
    rabbit = RabbitServer(base / "rabbit")
    maria = MariaServer(base / "maria")
    try:
        maria.start()
        rabbit.start()
        conf = f"[DEFAULT]\ntransport_url = {rabbit.url}\n" + CONF
        for name in SERVICES:
            conf += f"[{name}]\nconnection = {maria.create_database(f'tsch_{name}')}\n"
        with running(base / "state", SERVICES, conf) as cluster:
            yield Faulty(cluster, rabbit, maria)
    finally:
        rabbit.stop()
        maria.stop(9)


def test_broker_restart_during_boots(faulty: Faulty) -> None:
    cluster = faulty.cluster
    session = cluster.session()
    workload = Workload(session, seed=int.from_bytes(os.urandom(2), "big"))
    workload.setup()
    name = "broker restart during boots"
    try:
        crash_round(workload, faulty.rabbit.stop, lambda: _boots_go_through(workload),
                    lambda: cluster.checked(session), window=(1.0, 2.0),
                    during=lambda: faulty.rabbit.start())  # fmt: skip
        assert not workload.server_errors, workload.server_errors
    except AssertionError:
        figures.record_round(name, 0, 1, len(workload.server_errors))
        raise
    figures.record_round(name, 1, 0, 0)


def _boots_go_through(workload: Workload) -> None:
    """After the restart RPC has reconnected: new boots go all the way to ACTIVE."""
    after = Workload(workload.session)
    after.network_id, after.image_id = workload.network_id, workload.image_id
    for _ in range(3):
        after._boot()
    after.settle()
    for sid in after.created["servers"]:
        server = workload.session.get("compute", f"/servers/{sid}")["server"]
        assert server["status"] == "ACTIVE", server
