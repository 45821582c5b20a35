"""Backups against a real cloud with the file driver and the backup service: full and
incremental backups, of snapshots, restores into new and existing volumes and volumes
from backups (3.47), their data (qemu-io patterns), metadata carried over, export and
import of records, the admin actions, quotas and bad input."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.volume.conftest import Env, MakeEnv
from tests.volume.resources import (
    attach,
    backup,
    detach,
    file_conf,
    kill_daemons,
    snapshot,
    wait_for,
)
from tests.volume.test_snapshots import holds, write


@pytest.fixture(scope="module")
def env(make_env: MakeEnv) -> Iterator[Env]:
    found = make_env(file_conf(backup_file_size=1 << 20, backup_sha_block_size_bytes=1 << 16))
    try:
        yield found
    finally:
        found.cloud.stop()
        kill_daemons(found.cloud.state_dir)


def backup_files(env: Env, backup_id: str) -> list[Path]:
    root = env.cloud.state_dir / "backups"
    return [p for p in root.rglob("*") if p.is_file() and backup_id in p.name]


def test_full_and_incremental_backup_restore(env: Env) -> None:
    vol = env.create(name="source", metadata={"m": "1"})
    write(env, vol["id"], 0x31, offset=0)
    write(env, vol["id"], 0x32, offset=8 << 20)
    full = backup(env.demo, vol["id"], name="full", description="d")
    assert env.wait(vol["id"], "available")
    assert full["is_incremental"] is False and full["object_count"] >= 2
    assert full["container"] == "volumebackups" and full["size"] == 1
    write(env, vol["id"], 0x33, offset=8 << 20)
    incr = backup(env.demo, vol["id"], incremental=True)
    assert incr["is_incremental"] is True
    assert env.demo.get(f"/backups/{full['id']}").json()["backup"]["has_dependent_backups"]
    # only the changed chunk was stored
    assert incr["object_count"] < full["object_count"]
    # a restore into a new volume: the newest data and the source's metadata
    done = env.demo.post(f"/backups/{incr['id']}/restore", {"restore": None}, 202).json()
    restored = env.wait(done["restore"]["volume_id"], "available")
    assert restored["name"] == "source" and restored["metadata"] == {"m": "1"}
    assert holds(env, f"volume-{restored['id']}", 0x31, offset=0)
    assert holds(env, f"volume-{restored['id']}", 0x33, offset=8 << 20)
    wait_for(env.demo, "backups", incr["id"], "available")
    # a restore of the full one into an existing volume of enough size
    target = env.create(size=2, name="mine")
    env.demo.post(f"/backups/{full['id']}/restore", {"restore": {"volume_id": target["id"]}}, 202)
    env.wait(target["id"], "available")
    assert holds(env, f"volume-{target['id']}", 0x32, offset=8 << 20)
    assert env.demo.get(f"/volumes/{target['id']}").json()["volume"]["name"] == "mine"
    # the full backup has a dependent: 400 until the incremental one goes
    r = env.demo.delete(f"/backups/{full['id']}", 400)
    assert "Incremental backups exist" in r.json()["badRequest"]["message"]
    env.demo.delete(f"/backups/{incr['id']}", 202)
    wait_for(env.demo, "backups", incr["id"], "deleted")
    assert not backup_files(env, incr["id"])
    env.demo.delete(f"/backups/{full['id']}", 202)
    wait_for(env.demo, "backups", full["id"], "deleted")
    assert not backup_files(env, full["id"])


def test_volume_from_backup_and_snapshot_backups(env: Env) -> None:
    vol = env.create()
    write(env, vol["id"], 0x41)
    snap = snapshot(env.demo, vol["id"])
    write(env, vol["id"], 0x42)
    from_snap = backup(env.demo, vol["id"], snapshot_id=snap["id"])
    assert from_snap["snapshot_id"] == snap["id"]
    assert wait_for(env.demo, "snapshots", snap["id"], "available")
    made = env.demo.at("3.47").post("/volumes", {"volume": {"backup_id": from_snap["id"]}}, 202)
    new = env.wait(made.json()["volume"]["id"], "available")
    assert new["size"] == 1
    assert holds(env, f"volume-{new['id']}", 0x41)
    # before 3.47 backup_id is ignored: an empty volume
    old = env.demo.at("3.46").post(
        "/volumes", {"volume": {"size": 1, "backup_id": from_snap["id"]}}, 202
    )
    empty = env.wait(old.json()["volume"]["id"], "available")
    assert not holds(env, f"volume-{empty['id']}", 0x41)
    other = env.create()
    r = env.demo.post(
        "/backups", {"backup": {"volume_id": other["id"], "snapshot_id": snap["id"]}}, 400
    )
    assert "does not match" in r.json()["badRequest"]["message"]


def test_update_list_metadata_and_count(env: Env) -> None:
    vol = env.create()
    one = backup(env.demo, vol["id"], name="b-1", metadata={"k": "v"})
    assert one["metadata"] == {"k": "v"}
    env.demo.at("3.8").put(f"/backups/{one['id']}", {"backup": {"name": "x"}}, 404)
    updated = env.demo.put(
        f"/backups/{one['id']}", {"backup": {"name": "b-2", "metadata": {"a": "b"}}}, 200
    ).json()["backup"]
    assert updated["name"] == "b-2" and set(updated) == {"id", "name", "links"}
    shown = env.demo.get(f"/backups/{one['id']}").json()["backup"]
    assert shown["metadata"] == {"a": "b"} and "os-backup-project-attr:project_id" not in shown
    admin_view = env.admin.get(f"/backups/{one['id']}").json()["backup"]
    assert admin_view["os-backup-project-attr:project_id"] == env.project_id()
    assert "user_id" in admin_view
    env.demo.at("3.42").put(f"/backups/{one['id']}", {"backup": {"metadata": {}}}, 400)
    page = env.demo.get(
        "/backups/detail", params={"volume_id": vol["id"], "with_count": "true"}
    ).json()
    assert page["count"] == 1 and page["backups"][0]["id"] == one["id"]
    env.demo.get("/backups", 400, params={"host": "x"})
    env.demo.at("3.36").get("/backups", 400, params={"sort": "name"})
    env.demo.get("/backups", params={"sort": "name:asc", "name": "b-2"})


def test_export_import_and_admin_actions(env: Env) -> None:
    vol = env.create()
    write(env, vol["id"], 0x51)
    made = backup(env.demo, vol["id"])
    env.demo.get(f"/backups/{made['id']}/export_record", 403)
    record = env.admin.get(f"/backups/{made['id']}/export_record").json()["backup-record"]
    assert record["backup_service"].startswith("cinder.backup.drivers")
    data = json.loads(base64.b64decode(record["backup_url"]))
    data["id"] = str(uuid.uuid4())
    url = base64.b64encode(json.dumps(data).encode()).decode()
    body = {"backup-record": {"backup_service": record["backup_service"], "backup_url": url}}
    imported = env.admin.post("/backups/import_record", body, 201).json()["backup"]
    assert imported["id"] == data["id"]
    found = wait_for(env.admin, "backups", data["id"], "available")
    assert found["volume_id"] == vol["id"]
    again = env.admin.post("/backups/import_record", body, 400)
    assert "already exists" in again.json()["badRequest"]["message"]
    # the imported copy restores the same data
    done = env.admin.post(f"/backups/{data['id']}/restore", {"restore": {}}, 202).json()
    copy = env.wait(done["restore"]["volume_id"], "available", api=env.admin)
    assert holds(env, f"volume-{copy['id']}", 0x51)
    bad = {"backup-record": {"backup_service": "cinder.backup.drivers.nope", "backup_url": "x"}}
    env.admin.post("/backups/import_record", bad, 400)
    # admin actions
    act = f"/backups/{made['id']}/action"
    env.demo.post(act, {"os-reset_status": {"status": "error"}}, 403)
    env.admin.post(act, {"os-reset_status": {"status": "creating"}}, 400)
    env.admin.post(act, {"os-reset_status": {"status": "error"}}, 202)
    assert env.demo.get(f"/backups/{made['id']}").json()["backup"]["status"] == "error"
    env.demo.post(f"/backups/{made['id']}/restore", {"restore": {}}, 400)
    env.admin.post(act, {"os-force_delete": {}}, 202)
    wait_for(env.demo, "backups", made["id"], "deleted")
    env.admin.delete(f"/backups/{data['id']}", 202)
    wait_for(env.admin, "backups", data["id"], "deleted")


def test_bad_input_and_quota(env: Env) -> None:
    vol = env.create()
    env.demo.post("/backups", {"backup": {"volume_id": str(uuid.uuid4())}}, 404)
    env.demo.post("/backups", {"backup": {"volume_id": "x"}}, 400)
    env.demo.post("/backups", {"backup": {"volume_id": vol["id"], "bogus": 1}}, 400)
    env.demo.at("3.42").post("/backups", {"backup": {"volume_id": vol["id"], "metadata": {}}}, 400)
    env.demo.at("3.50").post(
        "/backups", {"backup": {"volume_id": vol["id"], "availability_zone": "nova"}}, 400
    )
    r = env.demo.post("/backups", {"backup": {"volume_id": vol["id"], "incremental": True}}, 400)
    assert "No backups available" in r.json()["badRequest"]["message"]
    env.demo.post(f"/backups/{uuid.uuid4()}/restore", {"restore": {}}, 404)
    made = backup(env.demo, vol["id"])
    small = env.create()
    env.admin.post(f"/volumes/{small['id']}/action", {"os-reset_status": {"status": "error"}}, 202)
    r = env.demo.post(
        f"/backups/{made['id']}/restore", {"restore": {"volume_id": small["id"]}}, 400
    )
    assert "must be available" in r.json()["badRequest"]["message"]
    project = env.project_id()
    sets = env.admin.get(f"/os-quota-sets/{project}", params={"usage": "true"}).json()
    in_use = sets["quota_set"]["backups"]["in_use"]
    env.admin.put(f"/os-quota-sets/{project}", {"quota_set": {"backups": in_use}}, 200)
    try:
        r = env.demo.post("/backups", {"backup": {"volume_id": vol["id"]}}, 413)
        assert "backups allowed" in r.json()["overLimit"]["message"]
    finally:
        env.admin.put(f"/os-quota-sets/{project}", {"quota_set": {"backups": 100}}, 200)


def test_backup_of_an_in_use_volume_reads_a_temporary_snapshot(env: Env) -> None:
    vol = env.create()
    write(env, vol["id"], 0x5C)
    attached = attach(env.demo, vol["id"])
    assert env.wait(vol["id"], "in-use")
    try:
        r = env.demo.post("/backups", {"backup": {"volume_id": vol["id"]}}, 400)
        assert "force flag" in r.json()["badRequest"]["message"]
        before = set(env.volumes_dir.glob("snapshot-*"))
        made = backup(env.demo, vol["id"], force=True)
        assert env.wait(vol["id"], "in-use")
        # the temporary snapshot is gone, and no snapshot row ever showed
        assert set(env.volumes_dir.glob("snapshot-*")) == before
        assert not env.demo.get("/snapshots", params={"volume_id": vol["id"]}).json()["snapshots"]
    finally:
        detach(env.demo, attached["id"])
    done = env.demo.post(f"/backups/{made['id']}/restore", {"restore": {}}, 202).json()
    restored = env.wait(done["restore"]["volume_id"], "available")
    assert holds(env, f"volume-{restored['id']}", 0x5C)
