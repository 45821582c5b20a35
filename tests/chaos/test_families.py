"""kill -9 of the metric, alarm, load balancer and dashboard services, each a
``tinystack serve`` process of its own (on SQLite, the in-process transport: none of
them needs the bus across processes), in the middle of its family's workload
(``tests/chaos/families.py``): the workload goes on a moment against the dead service
(requests fail cleanly, never a 500), the service comes back, everything settles, the
family's own promises hold (no acknowledged measure lost, no alarm stuck, no load
balancer left PENDING_*, sessions kept) and nothing leaks (``tests/invariants.py``).

One cluster serves the four rounds (a module's), as the distributed rounds share one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos import families, figures
from tests.chaos.cluster import Cluster, running
from tests.chaos.rounds import crash_round
from tests.chaos.workload import Workload

SERVICES = ["identity", "network", "metric", "alarm", "load_balancer", "dashboard"]
CONF = """
[metric]
notification_agent = false
[alarm]
evaluation_interval = 0.2
event_alarms = false
[load_balancer]
dataplane = none
"""
#: seconds the workload goes on with the service dead
DOWN_FOR = 1.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = Path(tmp_path_factory.mktemp("families"))
    with running(base / "state", SERVICES, CONF) as found:
        yield found


def _workload(cluster: Cluster, killed: str, seed: int) -> Workload:
    session = cluster.session()
    if killed == "metric":
        return families.MetricWorkload(session, seed=seed)
    if killed == "alarm":
        return families.AlarmWorkload(session, seed=seed)
    if killed == "load_balancer":
        return families.LoadBalancerWorkload(session, seed=seed)
    url = f"http://127.0.0.1:{cluster.base.ports['dashboard']}"
    return families.DashboardWorkload(session, seed=seed, url=url,
                                      password=cluster.base.password("admin"))  # fmt: skip


@pytest.mark.parametrize("killed", ["metric", "alarm", "load_balancer", "dashboard"])
def test_kill_one_family_during_its_workload(cluster: Cluster, killed: str) -> None:
    seed = int.from_bytes(os.urandom(2), "big")
    workload = _workload(cluster, killed, seed)
    workload.setup()
    name = f"distributed kill -9 {killed}"
    try:
        crash_round(workload, lambda: cluster.kill(killed), lambda: cluster.start(killed),
                    lambda: cluster.checked(workload.session), threads=4,
                    window=(0.5, 2.0), during=lambda: time.sleep(DOWN_FOR))  # fmt: skip
        assert not workload.server_errors, f"seed {seed}: {workload.server_errors}"
    except AssertionError:
        figures.record_round(name, 0, 1, len(workload.server_errors))
        raise
    figures.record_round(name, 1, 0, 0)
