"""kill -9 of the whole cloud while backups, restores, a volume from a backup and
snapshots are in flight: after the restart every volume, backup and snapshot is stable
(available or error), the volumes that were backed up are back in their status, the
backup service works again, and neither backup objects nor snapshot files that no row
claims are left."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

from tests.cloudproc import CloudProcess
from tests.volume.conftest import SERVICES, Env
from tests.volume.resources import backup, daemons, file_conf, kill_daemons, snapshot, wait_for
from tests.volume.test_snapshots import holds, write

CONF = file_conf(api_settle_seconds=0, backup_file_size=4 << 20)
STABLE_VOLUME = ("available", "in-use", "error", "error_restoring")
STABLE = ("available", "error")


def _statuses(env: Env, collection: str) -> dict[str, str]:
    found = env.admin.get(f"/{collection}/detail", params={"all_tenants": "1"}).json()
    return {item["id"]: item["status"] for item in found[collection]}


def _objects(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _plant_orphans(state: Path) -> tuple[Path, Path]:
    """Backup objects of a backup no row knows, and a snapshot file no row knows."""
    prefix = f"volume_{uuid.uuid4()}/az_nova_backup_{uuid.uuid4()}"
    objects = state / "backups" / "volumebackups" / prefix.split("/")[0]
    objects.mkdir(parents=True, exist_ok=True)
    name = prefix.split("/")[1]
    (objects / f"{name}-00001").write_bytes(b"chunk")
    (objects / f"{name}_metadata").write_text('{"parent_id": null, "objects": []}')
    snap = state / "volumes" / f"snapshot-{uuid.uuid4()}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(snap), "1G"], check=True)
    return objects / f"{name}-00001", snap


def _wait_all_stable(env: Env, timeout: float = 120) -> dict[str, dict[str, str]]:
    deadline = time.monotonic() + timeout
    found: dict[str, dict[str, str]] = {}
    while time.monotonic() < deadline:
        found = {c: _statuses(env, c) for c in ("volumes", "backups", "snapshots")}
        settled = (
            all(s in STABLE_VOLUME for s in found["volumes"].values())
            and all(s in STABLE for s in found["backups"].values())
            and all(s in STABLE for s in found["snapshots"].values())
        )
        if settled:
            return found
        time.sleep(0.2)
    raise AssertionError(f"not settled after the restart: {found}")


def _start_work(env: Env) -> dict[str, Any]:
    """Backups, restores and snapshots, left running."""
    source = env.create(name="source", size=1)
    write(env, source["id"], 0x7A, length=256 << 20)
    base = backup(env.demo, source["id"], name="base")
    other = env.create(name="other")
    write(env, other["id"], 0x7B, length=128 << 20)
    other_base = backup(env.demo, other["id"], name="other-base")
    snap = snapshot(env.demo, other["id"], name="of-other")
    work: dict[str, Any] = {"source": source, "base": base, "other": other, "snap": snap}
    work["of_snapshot"] = backup(env.demo, other["id"], wait=None, snapshot_id=snap["id"])
    target = env.create(name="target")
    env.demo.post(f"/backups/{base['id']}/restore", {"restore": {"volume_id": target["id"]}}, 202)
    work["target"] = target
    made = env.demo.post("/volumes", {"volume": {"backup_id": other_base["id"]}}, 202).json()
    work["from_backup"] = made["volume"]
    third = env.create(name="third")
    write(env, third["id"], 0x7C, length=64 << 20)
    work["new_snap"] = snapshot(env.demo, third["id"], wait=None)
    # last, so that it is still running when the test looks (the others may have ended
    # by then on a quiet host; a 256 MiB backup takes well under a second)
    work["running"] = backup(env.demo, source["id"], wait=None, name="running")
    return work


def test_kill_during_backups_settles_everything(tmp_path: Path) -> None:
    state = tmp_path / "state"
    cloud = CloudProcess(state, SERVICES, CONF)
    cloud.start(timeout=120)
    try:
        env = Env(cloud)
        work = _start_work(env)
        running = env.demo.get(f"/backups/{work['running']['id']}").json()["backup"]
        assert running["status"] == "creating"
        cloud.stop(signal.SIGKILL)
        orphan_object, orphan_snapshot = _plant_orphans(state)

        cloud.start(timeout=120)
        env = Env(cloud)
        found = _wait_all_stable(env)
        assert found["backups"][work["running"]["id"]] == "error"
        assert found["backups"][work["base"]["id"]] == "available"
        assert found["volumes"][work["source"]["id"]] == "available"
        assert found["volumes"][work["other"]["id"]] == "available"
        assert found["snapshots"][work["snap"]["id"]] == "available"
        assert found["volumes"][work["target"]["id"]] in ("available", "error_restoring")
        assert found["volumes"][work["from_backup"]["id"]] in ("available", "error")
        failed = env.demo.get(f"/backups/{work['running']['id']}").json()["backup"]
        assert "restart" in (failed["fail_reason"] or "")
        deadline = time.monotonic() + 30
        while (orphan_object.exists() or orphan_snapshot.exists()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not orphan_object.exists() and not orphan_snapshot.exists()
        volumes = state / "volumes"
        assert not list(volumes.glob(".tmp-*"))
        snapshot_files = {p.name for p in volumes.glob("snapshot-*")}
        assert snapshot_files == {f"snapshot-{s}.qcow2" for s in found["snapshots"]}
        # the backup service works again; the failed backup can go, with its objects
        again = backup(env.demo, work["source"]["id"], name="after")
        done = env.demo.post(f"/backups/{again['id']}/restore", {"restore": {}}, 202).json()
        restored = env.wait(done["restore"]["volume_id"], "available")
        assert holds(env, f"volume-{restored['id']}", 0x7A, length=256 << 20)
        for backup_id, status in _statuses(env, "backups").items():
            if status == "error":
                env.demo.delete(f"/backups/{backup_id}", 202)
                wait_for(env.demo, "backups", backup_id, "deleted")
        ids = set(_statuses(env, "backups"))
        for path in _objects(state / "backups"):
            assert any(i in str(path) for i in ids), f"{path} belongs to no backup"
        # the device daemons the killed backups had running were stopped
        assert daemons(state) == 0
    finally:
        cloud.stop()
        kill_daemons(state)
