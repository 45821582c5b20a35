"""Backups of RBD volumes with the ``ceph`` backup driver, in a cloud (identity, image,
volume; ``tinystack up``) on the session's test cluster, through the block storage API.

A full backup is an image in the ``backups`` pool, an incremental one a snapshot of that
image holding only the diff; a restore writes a new RBD volume; deleting the backups
leaves the pools empty. A kill -9 of the cloud in the middle of a backup leaves the
backup in ``error`` after the restart, with no image or snapshot behind it. The cephx
keys are in no process argument, log line or API answer. With the OSD stopped, new
operations fail within the operation timeout (the API answers at once; the volume or
backup goes to ``error`` with a user message) and, once it is back, everything works
and can be cleaned up.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator

import pytest

from tests.ceph.test_rbd import processes_with, rbd_images
from tests.ceph_cluster import CephCluster
from tests.cloudproc import CloudProcess
from tests.volume.conftest import SERVICES, Env
from tests.volume.resources import backup, wait_for
from tinystack.common import ceph

MiB = 1 << 20
#: seconds a Ceph operation may take in this cloud (the OSD-down test waits for it)
OP_TIMEOUT = 8


@pytest.fixture(scope="module")
def cloud(
    ceph_cluster: CephCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CloudProcess]:
    conf = ceph_cluster.conf
    extra = (
        "[volume]\n"
        "volume_driver = rbd\n"
        "backend_name = ceph\n"
        "volume_backend_name = ceph\n"
        f"rbd_ceph_conf = {conf}\n"
        "report_interval = 1\n"
        "api_settle_seconds = 0\n"
        "backup_driver = ceph\n"
        f"backup_ceph_conf = {conf}\n"
        f"rados_osd_op_timeout = {OP_TIMEOUT}\n"
    )
    state = tmp_path_factory.mktemp("tsq-rbd-backup")
    proc = CloudProcess(state, SERVICES, extra, debug=True)  # the key must not be logged
    proc.start(timeout=180)
    try:
        yield proc
    finally:
        proc.stop()


def write(cluster: CephCluster, volume: str, offset: int, data: bytes) -> None:
    rbd = ceph.bindings().rbd
    with cluster.admin() as rados:
        io = rados.open_ioctx("volumes")
        try:
            with rbd.Image(io, f"volume-{volume}") as image:
                for start in range(0, len(data), 4 * MiB):
                    image.write(data[start : start + 4 * MiB], offset + start)
        finally:
            io.close()


def read(cluster: CephCluster, pool: str, name: str, offset: int, length: int) -> bytes:
    rbd = ceph.bindings().rbd
    with cluster.admin() as rados:
        io = rados.open_ioctx(pool)
        try:
            with rbd.Image(io, name, read_only=True) as image:
                return bytes(image.read(offset, length))
        finally:
            io.close()


def snaps(cluster: CephCluster, pool: str, name: str) -> list[str]:
    rbd = ceph.bindings().rbd
    with cluster.admin() as rados:
        io = rados.open_ioctx(pool)
        try:
            with rbd.Image(io, name, read_only=True) as image:
                return [s["name"] for s in image.list_snaps()]
        finally:
            io.close()


def test_full_incremental_restore_and_delete(
    cloud: CloudProcess, ceph_cluster: CephCluster
) -> None:
    env = Env(cloud)
    vol = env.create(size=1)["id"]
    write(ceph_cluster, vol, 0, b"A" * (8 * MiB))
    full = backup(env.demo, vol, name="full")
    base = f"volume-{vol}.backup.{full['id']}"
    assert base in rbd_images(ceph_cluster, "backups")
    assert snaps(ceph_cluster, "backups", base) == [f"backup.{full['id']}.snap"]
    assert snaps(ceph_cluster, "volumes", f"volume-{vol}") == [f"backup.{full['id']}.snap"]

    write(ceph_cluster, vol, 100 * MiB, b"C" * 4096)
    inc = backup(env.demo, vol, name="inc", incremental=True)
    assert inc["is_incremental"] is True
    # the incremental one is a snapshot of the same image; the volume keeps one base
    assert rbd_images(ceph_cluster, "backups") == [base]
    assert snaps(ceph_cluster, "backups", base) == [
        f"backup.{full['id']}.snap",
        f"backup.{inc['id']}.snap",
    ]
    assert snaps(ceph_cluster, "volumes", f"volume-{vol}") == [f"backup.{inc['id']}.snap"]

    # restore the incremental one into a new volume
    done = env.demo.post(f"/backups/{inc['id']}/restore", {"restore": {}}, 202).json()
    restored = env.wait(done["restore"]["volume_id"], "available", timeout=120)["id"]
    name = f"volume-{restored}"
    assert read(ceph_cluster, "volumes", name, 0, 8 * MiB + 1) == b"A" * (8 * MiB) + b"\0"
    assert read(ceph_cluster, "volumes", name, 100 * MiB, 4097) == b"C" * 4096 + b"\0"

    # the keys show nowhere: process arguments, the log, API answers
    shown = json.dumps(env.admin.get(f"/backups/{inc['id']}").json())
    shown += json.dumps(env.admin.get("/backups/detail").json())
    log = cloud.log_file.read_text(errors="replace")
    assert "DEBUG" in log  # a log with something in it
    for user in ("cinder", "cinder-backup", "admin"):
        key = ceph_cluster.key(user)
        assert processes_with(key) == [] and key not in log and key not in shown

    # deletes: the incremental one first (the full one has a dependent)
    env.demo.delete(f"/backups/{full['id']}", 400)
    for made in (inc, full):
        env.demo.delete(f"/backups/{made['id']}", 202)
        wait_for(env.demo, "backups", made["id"], "deleted")
    assert rbd_images(ceph_cluster, "backups") == []
    assert snaps(ceph_cluster, "volumes", f"volume-{vol}") == []
    for volume in (vol, restored):
        env.demo.delete(f"/volumes/{volume}", 202)
        env.wait(volume, "deleted")
    usage = ceph_cluster.pool_usage()
    assert usage == {p: [] for p in usage}


def test_kill_during_backup_leaves_error_and_nothing_behind(
    cloud: CloudProcess, ceph_cluster: CephCluster
) -> None:
    env = Env(cloud)
    vol = env.create(size=1)["id"]
    write(ceph_cluster, vol, 0, bytes(range(256)) * (4 * 512 * 1024))  # 512 MiB of data
    running = backup(env.demo, vol, wait=None, name="running")
    image = f"volume-{vol}.backup.{running['id']}"
    deadline = time.monotonic() + 60
    while image not in rbd_images(ceph_cluster, "backups"):  # the copy has begun
        assert time.monotonic() < deadline, "the backup never started"
        time.sleep(0.05)
    assert env.demo.get(f"/backups/{running['id']}").json()["backup"]["status"] == "creating"
    cloud.stop(signal.SIGKILL)
    cloud.start(timeout=180)
    env = Env(cloud)
    failed = wait_for(env.demo, "backups", running["id"], "error", timeout=120)
    assert "restart" in (failed["fail_reason"] or "")
    deadline = time.monotonic() + 60
    while image in rbd_images(ceph_cluster, "backups"):
        assert time.monotonic() < deadline, "the interrupted backup's image stayed"
        time.sleep(0.5)
    assert snaps(ceph_cluster, "volumes", f"volume-{vol}") == []
    env.wait(vol, "available")
    env.demo.delete(f"/backups/{running['id']}", 202)
    wait_for(env.demo, "backups", running["id"], "deleted")
    env.demo.delete(f"/volumes/{vol}", 202)
    env.wait(vol, "deleted")
    usage = ceph_cluster.pool_usage()
    assert usage == {p: [] for p in usage}


def test_osd_down_fails_in_bounded_time_then_recovers(
    cloud: CloudProcess, ceph_cluster: CephCluster
) -> None:
    env = Env(cloud)
    kept = env.create(size=1)["id"]
    ceph_cluster.stop_osd()
    try:
        started = time.monotonic()
        made = env.demo.post("/volumes", {"volume": {"size": 1}}, 202).json()["volume"]
        assert time.monotonic() - started < 5, "the API waited for the cluster"
        env.wait(made["id"], "error", timeout=OP_TIMEOUT * 5)
        print(f"\nvolume create with the OSD down: error after {time.monotonic() - started:.1f}s")
        assert env.messages(made["id"]), "no user message"
        failed = backup(env.demo, kept, wait="error")
        assert failed["fail_reason"]
        assert env.wait(kept, "available")
    finally:
        ceph_cluster.start_osd()
    # back: new operations work, what failed can be cleaned up
    again = env.create(size=1)["id"]
    env.demo.delete(f"/backups/{failed['id']}", 202)
    wait_for(env.demo, "backups", failed["id"], "deleted")
    for volume in (made["id"], kept, again):
        env.demo.delete(f"/volumes/{volume}", 202)
        env.wait(volume, "deleted", timeout=60)
    usage = ceph_cluster.pool_usage()
    assert usage == {p: [] for p in usage}
