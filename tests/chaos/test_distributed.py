"""Faults in the distributed mode (each service a process of its own) on a throwaway
RabbitMQ and MariaDB of the test's own (the machine's shared servers are not restarted),
each during the mixed workload, with the invariants checked after (``tests/invariants.py``):

* kill -9 of one service, each service family in turn (identity, placement, image,
  compute, volume, network, object store): the workload goes on a moment against the
  others (requests fail cleanly: never a 500, a 503 only with Retry-After), the killed
  one comes back, everything settles, nothing leaks.
* RabbitMQ restarted while servers boot: RPC reconnects, no cast is lost (every server
  ends ACTIVE, or ERROR with a fault), calls fail cleanly or succeed, no 500; boots after
  the restart work; nothing leaks.
* MariaDB killed and restarted under API load: every request succeeds, or answers 503
  with Retry-After while the database is away, never a 500; afterwards every request
  succeeds again within a bounded window, no row is half-written, and every resource
  settles with no operator's help: an operation the outage cut (a volume being
  scheduled, say) is taken up by its service's periodic pass (``[volume]
  lost_operation_age``, compute's ``orphan_timeout``).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.chaos import figures
from tests.chaos.cluster import Cluster, running
from tests.chaos.rounds import crash_round
from tests.chaos.servers import MariaServer, RabbitServer
from tests.chaos.session import Session
from tests.chaos.workload import Workload

#: seconds after the database is back within which every service serves again
RECOVERY_BOUND = 30.0
SERVICES = ["identity", "placement", "image", "compute", "volume", "network", "object_store"]
#: builds and deletes a killed compute left are settled after 60 s (default 300: other
#: conductors may be at work on younger ones; shorter fails builds whose casts wait out
#: the broker's restart, which takes 15-40 s on a loaded machine)
CONF = """
[compute]
fake_hosts = 2
fake_spawn_delay = 0.5
api_settle_seconds = 0
orphan_timeout = 60
report_interval = 2
[volume]
api_settle_seconds = 0
report_interval = 2
lost_operation_age = 5
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


#: seconds the workload goes on against the cloud with one service dead
DOWN_FOR = 1.5


@pytest.mark.parametrize("killed", SERVICES)
def test_kill_one_service_during_mixed_workload(faulty: Faulty, killed: str) -> None:
    cluster = faulty.cluster
    seed = int.from_bytes(os.urandom(2), "big")
    session = cluster.session()
    workload = Workload(session, seed=seed)
    workload.setup()
    name = f"distributed kill -9 {killed}"
    try:
        crash_round(workload, lambda: cluster.kill(killed), lambda: cluster.start(killed),
                    lambda: cluster.checked(session),
                    during=lambda: time.sleep(DOWN_FOR))  # fmt: skip
        assert not workload.server_errors, f"seed {seed}: {workload.server_errors}"
    except AssertionError:
        figures.record_round(name, 0, 1, len(workload.server_errors))
        raise
    figures.record_round(name, 1, 0, 0)


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


def test_database_restart_under_load(faulty: Faulty) -> None:
    cluster = faulty.cluster
    session = cluster.session()
    workload = Workload(session, seed=int.from_bytes(os.urandom(2), "big"))
    workload.setup()
    name = "database kill -9 and restart under load"
    back: list[float] = []

    def restart() -> None:
        faulty.maria.start()
        back.append(_serving_again(session))

    try:
        # no recovery step: what the outage cut settles by itself
        crash_round(workload, lambda: faulty.maria.stop(signal.SIGKILL), lambda: None,
                    lambda: cluster.checked(session), window=(1.0, 2.0),
                    during=restart)  # fmt: skip
        assert not workload.server_errors, workload.server_errors
        assert back and back[0] < RECOVERY_BOUND, f"requests failing {back}s after the restart"
    except AssertionError:
        figures.record_round(name, 0, 1, len(workload.server_errors))
        raise
    figures.record_round(name, 1, 0, 0)
    figures.record("chaos", {"database back: seconds until requests succeed": round(back[0], 1)})


def _serving_again(session: Session, timeout: float = 60) -> float:
    """Seconds until a read of every service and a write answer 2xx again."""
    started = time.monotonic()
    probes = [("compute", "/servers"), ("network", "/v2.0/ports"), ("image", "/v2/images"),
              ("block-storage", "/volumes"), ("placement", "/resource_providers")]  # fmt: skip
    while True:
        try:
            ok = all(session.client(s).get(p).status_code == 200 for s, p in probes)
            body = {"network": {"name": "probe"}}
            made = session.client("network").post("/v2.0/networks", json=body)
            if made.status_code == 201:
                session.client("network").delete(f"/v2.0/networks/{made.json()['network']['id']}")
            if ok and made.status_code == 201:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        if time.monotonic() - started > timeout:
            return time.monotonic() - started
        time.sleep(0.2)
