"""The backup service in its own process (``tinystack serve volume`` with
``enabled_workers = backup`` and another host name), the volume manager in the cloud's,
over RabbitMQ: backups read the volume through the NBD export its manager makes for
the backup host (of a snapshot: the snapshot's), restores write it the same way."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cloudproc import CloudProcess
from tests.volume.companion import Companion, companion_conf, vhost
from tests.volume.conftest import SERVICES, Env
from tests.volume.resources import backup, file_conf, kill_daemons, snapshot, wait_for
from tests.volume.test_snapshots import holds, write

__all__ = ["vhost"]  # the RabbitMQ virtual host fixture
pytestmark = pytest.mark.rabbit


def test_backups_by_a_backup_service_in_another_process(tmp_path: Path, vhost: str) -> None:
    extra = f"[DEFAULT]\ntransport_url = {vhost}\n"
    main = CloudProcess(
        tmp_path / "main", SERVICES, file_conf(enabled_workers="scheduler,manager") + extra
    )
    main.start(timeout=120)
    host = None
    try:
        conf = companion_conf(
            main, tmp_path / "backup-host", vhost, "enabled_workers = backup", "host = backup-host"
        )
        host = Companion(conf, tmp_path / "backup-host.log", "cinder-backup", "backup-host")
        env = Env(main)
        host.start(env, timeout=60)
        vol = env.create()
        write(env, vol["id"], 0x6E, length=8 << 20)
        made = backup(env.demo, vol["id"])
        assert made["object_count"] >= 1
        # the objects are on the backup host, not in the cloud's state directory
        stored = list((tmp_path / "backup-host" / "backups").rglob(f"*{made['id']}*"))
        assert stored and not list((main.state_dir / "backups").rglob(f"*{made['id']}*"))
        done = env.demo.post(f"/backups/{made['id']}/restore", {"restore": {}}, 202).json()
        restored = env.wait(done["restore"]["volume_id"], "available")
        assert holds(env, f"volume-{restored['id']}", 0x6E, length=8 << 20)
        # the exports made for the backup host are gone
        exports = (main.state_dir / "volumes" / ".tinystack" / "exports.json").read_text()
        assert made["id"] not in exports
        # a backup of a snapshot: the snapshot is exported to the backup host
        write(env, vol["id"], 0x6F, length=8 << 20)
        snap = snapshot(env.demo, vol["id"])
        of_snap = backup(env.demo, vol["id"], snapshot_id=snap["id"], incremental=True)
        done = env.demo.post(f"/backups/{of_snap['id']}/restore", {"restore": {}}, 202).json()
        restored = env.wait(done["restore"]["volume_id"], "available")
        assert holds(env, f"volume-{restored['id']}", 0x6F, length=8 << 20)
        env.demo.delete(f"/backups/{of_snap['id']}", 202)
        wait_for(env.demo, "backups", of_snap["id"], "deleted")
        env.demo.delete(f"/backups/{made['id']}", 202)
        wait_for(env.demo, "backups", made["id"], "deleted")
        assert not list((tmp_path / "backup-host" / "backups").rglob(f"*{made['id']}*"))
    finally:
        if host is not None:
            host.stop()
        main.stop()
        kill_daemons(main.state_dir)
        kill_daemons(tmp_path / "backup-host")
