"""Snapshots and backups with the real ``openstack volume snapshot|backup ...`` CLI and
openstacksdk's ``create_volume_backup`` (one cloud with the file driver)."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from tests.volume.conftest import Env, MakeEnv
from tests.volume.resources import file_conf, wait_for
from tests.volume.test_snapshots import holds, write

DEMO = "tinystack-demo"


@pytest.fixture(scope="module")
def env(make_env: MakeEnv) -> Env:
    return make_env(file_conf())


def test_snapshots_with_the_cli(env: Env) -> None:
    osc = env.cloud.osc
    vol = env.create(name=f"cli-snap-{uuid.uuid4().hex[:6]}")
    write(env, vol["id"], 0x61)
    snap = osc("volume", "snapshot", "create", "--volume", vol["id"], "--description", "d",
               "--property", "a=b", "s-cli", cloud=DEMO)  # fmt: skip
    wait_for(env.demo, "snapshots", snap["id"], "available")
    listed = osc("volume", "snapshot", "list", cloud=DEMO)
    assert snap["id"] in [s["ID"] for s in listed]
    shown = osc("volume", "snapshot", "show", snap["id"], cloud=DEMO)
    assert shown["status"] == "available" and shown["description"] == "d"
    assert shown["properties"] in ({"a": "b"}, "a='b'")
    osc("volume", "snapshot", "set", "--name", "s-cli-2", "--property", "c=d", snap["id"],
        cloud=DEMO)  # fmt: skip
    shown = osc("volume", "snapshot", "show", "s-cli-2", cloud=DEMO)
    assert "c" in str(shown["properties"])
    copy = osc("volume", "create", "--snapshot", snap["id"], "--size", "1", "from-snap",
               cloud=DEMO)  # fmt: skip
    env.wait(copy["id"], "available")
    assert holds(env, f"volume-{copy['id']}", 0x61)
    with pytest.raises(subprocess.CalledProcessError) as failed:
        osc("volume", "delete", vol["id"], cloud=DEMO)
    assert "snapshots" in failed.value.stderr
    osc("volume", "snapshot", "delete", snap["id"], cloud=DEMO)
    wait_for(env.demo, "snapshots", snap["id"], "deleted")


def test_backups_with_the_cli(env: Env) -> None:
    osc = env.cloud.osc
    vol = env.create(name=f"cli-backup-{uuid.uuid4().hex[:6]}")
    write(env, vol["id"], 0x71)
    with pytest.raises(subprocess.CalledProcessError):
        osc("volume", "backup", "create", "--incremental", vol["id"], cloud=DEMO)
    full = osc("volume", "backup", "create", "--name", "b-full", vol["id"], cloud=DEMO)
    wait_for(env.demo, "backups", full["id"], "available", timeout=120)
    write(env, vol["id"], 0x72, offset=4 << 20)
    incr = osc("volume", "backup", "create", "--incremental", "--name", "b-incr", vol["id"],
               cloud=DEMO)  # fmt: skip
    found = wait_for(env.demo, "backups", incr["id"], "available", timeout=120)
    assert found["is_incremental"] is True
    listed = osc("volume", "backup", "list", cloud=DEMO)
    assert {full["id"], incr["id"]} <= {b["ID"] for b in listed}
    shown = osc("volume", "backup", "show", incr["id"], cloud=DEMO)
    assert shown["status"] == "available"
    target = env.create(name="cli-restore-target")
    osc("volume", "backup", "restore", "--force", incr["id"], target["id"], cloud=DEMO)
    env.wait(target["id"], "available")
    assert holds(env, f"volume-{target['id']}", 0x71)
    assert holds(env, f"volume-{target['id']}", 0x72, offset=4 << 20)
    restored = osc("volume", "backup", "restore", full["id"], "cli-restored", cloud=DEMO)
    new = env.wait(restored["volume_id"], "available")
    assert new["name"] == "cli-restored" and holds(env, f"volume-{new['id']}", 0x71)
    made = osc("--os-volume-api-version", "3.47", "volume", "create", "--backup", full["id"],
               "from-backup", cloud=DEMO)  # fmt: skip
    env.wait(made["id"], "available")
    assert holds(env, f"volume-{made['id']}", 0x71)
    assert not holds(env, f"volume-{made['id']}", 0x72, offset=4 << 20)
    osc("volume", "backup", "delete", incr["id"], cloud=DEMO)
    wait_for(env.demo, "backups", incr["id"], "deleted")


def test_sdk_create_volume_backup(env: Env) -> None:
    conn = env.cloud.sdk(DEMO)
    try:
        vol = conn.create_volume(size=1, name="sdk-backup", wait=True)
        made = conn.create_volume_backup(vol.id, name="sdk", wait=True, timeout=120)
        found = conn.get_volume_backup(made["id"])
        assert found["status"] == "available" and found["name"] == "sdk"
        assert found["volume_id"] == vol.id
        conn.delete_volume_backup(made["id"], wait=True, timeout=60)
        assert conn.get_volume_backup(made["id"]) is None
    finally:
        conn.close()
