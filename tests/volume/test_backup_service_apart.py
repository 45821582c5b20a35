"""The backup service in its own process (``tinystack serve volume`` with
``enabled_workers = backup`` and another host name), the volume manager in the cloud's,
over RabbitMQ: backups read the volume through the NBD export its manager makes for
the backup host (of a snapshot: the snapshot's), restores write it the same way."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cloudproc import CloudProcess, free_port
from tests.volume.conftest import SERVICES, Env
from tests.volume.resources import backup, file_conf, kill_daemons, snapshot, wait_for
from tests.volume.test_snapshots import holds, write

pytestmark = pytest.mark.rabbit
BIN = Path(sys.executable).parent


@pytest.fixture
def vhost() -> Iterator[str]:
    """A RabbitMQ virtual host of its own (removed after)."""
    if shutil.which("rabbitmqctl") is None:
        pytest.skip("rabbitmqctl is not installed")
    name = f"vol-snap-{uuid.uuid4().hex[:8]}"
    for cmd in (
        ["rabbitmqctl", "add_vhost", name],
        ["rabbitmqctl", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
    ):
        if subprocess.run(cmd, capture_output=True, timeout=60).returncode != 0:
            pytest.skip("cannot make a RabbitMQ virtual host here")
    yield f"rabbit://guest:guest@127.0.0.1:5672/{name}"
    subprocess.run(["rabbitmqctl", "delete_vhost", name], capture_output=True, timeout=60)


def _backup_host(main: CloudProcess, state: Path, transport: str) -> Path:
    """The backup host's config: the cloud's ports, database and keys; its own state."""
    state.mkdir()
    shutil.copy(main.state_dir / "secrets.json", state / "secrets.json")
    shutil.copytree(main.state_dir / "fernet-keys", state / "fernet-keys")
    conf = state / "tinystack.conf"
    conf.write_text(
        "\n".join([
            "[DEFAULT]",
            f"state_dir = {state}",
            f"enabled_services = {','.join(main.services)}",
            f"transport_url = {transport}",
            "[identity]",
            f"port = {main.ports['identity']}",
            "[image]",
            f"port = {main.ports['image']}",
            "[volume]",
            f"port = {free_port()}",
            f"connection = sqlite:///{main.state_dir / 'volume.sqlite'}",
            "enabled_workers = backup",
            "host = backup-host",
            "report_interval = 1",
        ])
        + "\n"
    )  # fmt: skip
    return conf


def test_backups_by_a_backup_service_in_another_process(tmp_path: Path, vhost: str) -> None:
    extra = f"[DEFAULT]\ntransport_url = {vhost}\n"
    main = CloudProcess(
        tmp_path / "main", SERVICES, file_conf(enabled_workers="scheduler,manager") + extra
    )
    main.start(timeout=120)
    proc = None
    try:
        conf = _backup_host(main, tmp_path / "backup-host", vhost)
        with open(tmp_path / "backup-host.log", "wb") as log:
            proc = subprocess.Popen(
                [str(BIN / "tinystack"), "serve", "volume", "--config-file", str(conf)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        env = Env(main)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            services = env.admin.get("/os-services", params={"binary": "cinder-backup"}).json()
            if any(s["state"] == "up" for s in services["services"]):
                break
            assert proc.poll() is None, (tmp_path / "backup-host.log").read_text()[-3000:]
            time.sleep(0.5)
        else:
            raise AssertionError("the backup service never came up")
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
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        main.stop()
        kill_daemons(main.state_dir)
        kill_daemons(tmp_path / "backup-host")
