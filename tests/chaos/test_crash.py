"""kill -9 of the whole ``tinystack up`` at a random moment of a mixed workload (servers
booting with ports on the fake driver, volumes, images and objects created and deleted
by several threads): after the restart everything is stable and nothing leaks
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


#: rounds in one run (``TINYSTACK_CHAOS_ROUNDS``; one in ``make test``)
ROUNDS = int(os.environ.get("TINYSTACK_CHAOS_ROUNDS", "1"))


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_kill_whole_cloud_during_mixed_workload(tmp_path: Path, round_: int) -> None:
    cloud = CloudProcess(tmp_path / "state", SERVICES, CONF)
    cloud.start(timeout=120)
    seed = int.from_bytes(os.urandom(2), "big")
    server_errors = 0
    try:
        session = Session(cloud.auth_url, cloud.password("admin")).login()
        workload = Workload(session, seed=seed)
        workload.setup()

        def checked() -> invariants.Cloud:
            assert cloud.proc is not None
            return invariants.Cloud(session, cloud.state_dir, (cloud.conf_file,),
                                    (cloud.proc.pid,))  # fmt: skip

        crash_round(workload, lambda: cloud.stop(signal.SIGKILL),
                    lambda: cloud.start(timeout=120), checked)  # fmt: skip
        server_errors = len(workload.server_errors)
        assert not workload.server_errors, f"seed {seed}: {workload.server_errors}"
        figures.record_round(f"all-in-one kill -9 #{round_ + 1}", 1, 0, 0)
    except AssertionError:
        figures.record_round(f"all-in-one kill -9 #{round_ + 1}", 0, 1, server_errors)
        raise
    finally:
        cloud.stop()
