"""kill -9 of the whole ``tinystack up`` at a random moment of a mixed workload (servers
booting with ports on the fake driver, volumes, images and objects created and deleted
by several threads, and a burst of 100 boots at once, the kill landing once 20-80 % of
them were accepted): after the restart everything is stable and nothing leaks
(``tests/invariants.py``), and deleting everything leaves nothing behind."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests import invariants
from tests.chaos import figures
from tests.chaos.rounds import crash_round
from tests.chaos.session import Session
from tests.chaos.workload import Workload
from tests.cloudproc import CloudProcess

SERVICES = ["identity", "placement", "image", "compute", "volume", "network", "object_store"]
CONF = """
[compute]
fake_hosts = 2
fake_spawn_delay = 0.5
api_settle_seconds = 0
[volume]
api_settle_seconds = 0
"""


#: boots started at once beside the mixed workload's loops (the issue's 100 concurrent)
BURST = int(os.environ.get("TINYSTACK_CHAOS_BURST", "100"))
#: rounds in one run (``TINYSTACK_CHAOS_ROUNDS``; one in ``make test``)
ROUNDS = int(os.environ.get("TINYSTACK_CHAOS_ROUNDS", "1"))


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_kill_whole_cloud_during_mixed_workload(tmp_path: Path, round_: int) -> None:
    cloud = CloudProcess(tmp_path / "state", SERVICES, CONF)
    seed = int.from_bytes(os.urandom(2), "big")
    server_errors = 0
    try:
        cloud.start(timeout=120)
        session = Session(cloud.auth_url, cloud.password("admin")).login()
        workload = Workload(session, seed=seed)
        workload.setup()

        def checked() -> invariants.Cloud:
            assert cloud.proc is not None
            return invariants.Cloud(session, cloud.state_dir, (cloud.conf_file,),
                                    (cloud.proc.pid,))  # fmt: skip

        crash_round(workload, lambda: cloud.stop(signal.SIGKILL),
                    lambda: cloud.start(timeout=120), checked, burst=BURST)  # fmt: skip
        server_errors = len(workload.server_errors)
        assert not workload.server_errors, f"seed {seed}: {workload.server_errors}"
        assert workload.peak_boots >= BURST, workload.peak_boots
        figures.record("chaos", {"all-in-one: boots at once (peak)": workload.peak_boots,
                                 "all-in-one: boots accepted": workload.boots})  # fmt: skip
        figures.record_round(f"all-in-one kill -9 #{round_ + 1}", 1, 0, 0)
    except AssertionError:
        figures.record_round(f"all-in-one kill -9 #{round_ + 1}", 0, 1, server_errors)
        raise
    finally:
        cloud.stop()
