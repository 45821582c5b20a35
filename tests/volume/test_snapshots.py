"""Snapshots against a real cloud with the file driver: the API (create, list, show,
update, delete, metadata, the actions), volumes from snapshots, revert (3.40), cascade
deletes, quotas, and the data a snapshot keeps (qcow2 files checked with qemu-io)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.volume.conftest import Env, MakeEnv
from tests.volume.resources import attach, detach, file_conf, kill_daemons, snapshot, wait_for


@pytest.fixture(scope="module")
def env(make_env: MakeEnv) -> Iterator[Env]:
    found = make_env(file_conf())
    try:
        yield found
    finally:
        found.cloud.stop()
        kill_daemons(found.cloud.state_dir)


def qemu_io(path: Path, command: str) -> str:
    done = subprocess.run(
        ["qemu-io", "-f", "qcow2", "-c", command, str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert "fail" not in done.stdout.lower(), done.stdout
    return done.stdout


def write(env: Env, volume_id: str, pattern: int, offset: int = 0, length: int = 1 << 20) -> None:
    qemu_io(env.volumes_dir / f"volume-{volume_id}.qcow2", f"write -P {pattern} {offset} {length}")


def holds(env: Env, name: str, pattern: int, offset: int = 0, length: int = 1 << 20) -> bool:
    path = env.volumes_dir / f"{name}.qcow2"
    done = subprocess.run(
        ["qemu-io", "-f", "qcow2", "-c", f"read -P {pattern} {offset} {length}", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return done.returncode == 0 and "fail" not in done.stdout.lower()


def usage(env: Env, resource: str) -> int:
    project = env.project_id()
    sets = env.admin.get(f"/os-quota-sets/{project}", params={"usage": "true"}).json()
    return int(sets["quota_set"][resource]["in_use"])


def test_snapshot_lifecycle_and_its_data(env: Env) -> None:
    vol = env.create(name="snapped")
    write(env, vol["id"], 0xAB)
    before = usage(env, "snapshots")
    snap = snapshot(env.demo, vol["id"], name="s1", description="first", metadata={"k": "v"})
    assert snap["size"] == 1 and snap["metadata"] == {"k": "v"} and snap["name"] == "s1"
    assert usage(env, "snapshots") == before + 1
    write(env, vol["id"], 0xCD)
    assert holds(env, f"snapshot-{snap['id']}", 0xAB)
    shown = env.admin.get(f"/snapshots/{snap['id']}").json()["snapshot"]
    assert shown["os-extended-snapshot-attributes:progress"] == "100%"
    assert shown["os-extended-snapshot-attributes:project_id"] == env.project_id()
    assert "user_id" in shown and "consumes_quota" in shown
    old = env.demo.at("3.0").get(f"/snapshots/{snap['id']}").json()["snapshot"]
    assert "user_id" not in old and "group_snapshot_id" not in old
    listed = env.demo.get("/snapshots").json()["snapshots"]
    assert snap["id"] in [s["id"] for s in listed]
    assert not any(k.startswith("os-extended") for k in listed[0])
    updated = env.demo.put(
        f"/snapshots/{snap['id']}", {"snapshot": {"name": "s2", "description": ""}}, 200
    ).json()["snapshot"]
    assert updated["name"] == "s2" and updated["description"] == ""
    env.demo.put(f"/snapshots/{snap['id']}", {"snapshot": {}}, 400)
    env.demo.delete(f"/snapshots/{snap['id']}", 202)
    wait_for(env.demo, "snapshots", snap["id"], "deleted")
    assert not (env.volumes_dir / f"snapshot-{snap['id']}.qcow2").exists()
    assert usage(env, "snapshots") == before


def test_snapshot_metadata_api(env: Env) -> None:
    vol = env.create()
    snap = snapshot(env.demo, vol["id"], metadata={"a": "1"})
    base = f"/snapshots/{snap['id']}/metadata"
    assert env.demo.get(base).json() == {"metadata": {"a": "1"}}
    merged = env.demo.post(base, {"metadata": {"b": "2"}}, 200).json()["metadata"]
    assert merged == {"a": "1", "b": "2"}
    replaced = env.demo.put(base, {"metadata": {"c": "3"}}, 200).json()["metadata"]
    assert replaced == {"c": "3"}
    assert env.demo.get(f"{base}/c").json() == {"meta": {"c": "3"}}
    env.demo.put(f"{base}/c", {"meta": {"c": "4"}}, 200)
    env.demo.put(f"{base}/c", {"meta": {"d": "4"}}, 400)
    env.demo.put(f"{base}/c", {"meta": {"c": "4", "e": "5"}}, 400)
    env.demo.get(f"{base}/nope", 404)
    env.demo.delete(f"{base}/c", 200)
    env.demo.delete(f"{base}/c", 404)
    env.demo.post(base, {"metadata": {"k": "x" * 256}}, 400)
    env.demo.post(base, {"metadata": {"": "v"}}, 400)


def test_lists_filter_sort_page_count_and_all_tenants(env: Env) -> None:
    vol = env.create()
    made = [snapshot(env.demo, vol["id"], name=f"p-{i}", metadata={"grp": "x"}) for i in range(3)]
    ids = {s["id"] for s in made}
    page = env.demo.get(
        "/snapshots/detail",
        params={"volume_id": vol["id"], "sort": "name:asc", "limit": 2, "with_count": "1"},
    ).json()
    assert [s["name"] for s in page["snapshots"]] == ["p-0", "p-1"]
    assert page["count"] == 3 and "marker=" in page["snapshots_links"][0]["href"]
    rest = env.demo.get(
        "/snapshots",
        params={"volume_id": vol["id"], "sort": "name:asc", "marker": made[1]["id"]},
    ).json()["snapshots"]
    assert [s["name"] for s in rest] == ["p-2"]
    by_meta = env.demo.get("/snapshots", params={"metadata": "{'grp': 'x'}"}).json()
    assert {s["id"] for s in by_meta["snapshots"]} == ids
    like = env.demo.get("/snapshots", params={"name~": "p-", "volume_id": vol["id"]}).json()
    assert len(like["snapshots"]) == 3
    env.demo.get("/snapshots", 400, params={"bogus": "1"})
    assert env.demo.at("3.30").get("/snapshots", params={"bogus": "1"}).status_code == 200
    env.demo.at("3.29").get("/snapshots", 400, params={"sort": "name"})
    env.demo.get("/snapshots", 404, params={"marker": str(uuid.uuid4())})
    env.demo.get("/snapshots", 400, params={"sort": "name:up"})
    everyone = env.admin.get("/snapshots", params={"all_tenants": "true"}).json()["snapshots"]
    assert ids <= {s["id"] for s in everyone}
    assert not ids & {s["id"] for s in env.admin.get("/snapshots").json()["snapshots"]}


def test_volume_from_snapshot_and_bad_sizes(env: Env) -> None:
    vol = env.create()
    write(env, vol["id"], 0x11, offset=1 << 20)
    snap = snapshot(env.demo, vol["id"])
    copy = env.create(snapshot_id=snap["id"], size=2)
    assert copy["snapshot_id"] == snap["id"] and copy["size"] == 2
    assert holds(env, f"volume-{copy['id']}", 0x11, offset=1 << 20)
    env.demo.post("/volumes", {"volume": {"size": 1, "snapshot_id": str(uuid.uuid4())}}, 404)
    # the volume has a snapshot: it cannot be deleted without cascade
    r = env.demo.delete(f"/volumes/{vol['id']}", 400)
    assert "have snapshots" in r.json()["badRequest"]["message"]


def test_revert_to_the_latest_snapshot(env: Env) -> None:
    vol = env.create()
    write(env, vol["id"], 0x21)
    first = snapshot(env.demo, vol["id"])
    write(env, vol["id"], 0x22)
    latest = snapshot(env.demo, vol["id"])
    write(env, vol["id"], 0x23)
    action = f"/volumes/{vol['id']}/action"
    env.demo.at("3.39").post(action, {"revert": {"snapshot_id": latest["id"]}}, 404)
    r = env.demo.post(action, {"revert": {"snapshot_id": first["id"]}}, 400)
    assert "not the latest" in r.json()["badRequest"]["message"]
    env.demo.post(action, {"revert": {"snapshot_id": latest["id"]}}, 202)
    env.wait(vol["id"], "available")
    assert wait_for(env.demo, "snapshots", latest["id"], "available")
    assert holds(env, f"volume-{vol['id']}", 0x22)
    other = env.create()
    env.demo.post(f"/volumes/{other['id']}/action", {"revert": {"snapshot_id": latest["id"]}}, 400)


def test_cascade_delete_and_actions(env: Env) -> None:
    vol = env.create()
    snaps = [snapshot(env.demo, vol["id"]) for _ in range(2)]
    before = usage(env, "snapshots")
    env.demo.delete(f"/volumes/{vol['id']}", 202, params={"cascade": "true"})
    env.wait(vol["id"], "deleted")
    for snap in snaps:
        wait_for(env.demo, "snapshots", snap["id"], "deleted")
        assert not (env.volumes_dir / f"snapshot-{snap['id']}.qcow2").exists()
    assert usage(env, "snapshots") == before - 2

    vol = env.create()
    snap = snapshot(env.demo, vol["id"])
    act = f"/snapshots/{snap['id']}/action"
    env.demo.post(act, {"os-reset_status": {"status": "error"}}, 403)
    env.admin.post(act, {"os-reset_status": {"status": "bogus"}}, 400)
    env.admin.post(act, {"os-reset_status": {"status": "creating"}}, 202)
    env.demo.post(act, {"os-update_snapshot_status": {"status": "deleting"}}, 400)
    env.demo.post(act, {"os-update_snapshot_status": {"status": "error", "progress": "50%"}}, 202)
    shown = env.admin.get(f"/snapshots/{snap['id']}").json()["snapshot"]
    assert shown["status"] == "error"
    assert shown["os-extended-snapshot-attributes:progress"] == "50%"
    env.demo.post(act, {"os-bogus": {}}, 400)
    env.admin.post(act, {"os-reset_status": {"status": "creating"}}, 202)
    env.demo.delete(f"/snapshots/{snap['id']}", 400)
    env.admin.post(act, {"os-force_delete": {}}, 202)
    wait_for(env.demo, "snapshots", snap["id"], "deleted")


def test_bad_input(env: Env) -> None:
    vol = env.create()
    env.demo.post("/snapshots", {"snapshot": {"volume_id": str(uuid.uuid4())}}, 404)
    env.demo.post("/snapshots", {"snapshot": {"volume_id": "not-a-uuid"}}, 400)
    env.demo.post("/snapshots", {"snapshot": {}}, 400)
    env.demo.post("/snapshots", {"snapshot": {"volume_id": vol["id"], "bogus": 1}}, 400)
    env.demo.post("/snapshots", {"snapshot": {"volume_id": vol["id"], "force": "maybe"}}, 400)
    r = env.demo.post("/snapshots", {"snapshot": {"volume_id": vol["id"], "force": False}}, 400)
    assert "3.66" in r.json()["badRequest"]["message"]
    env.admin.post(f"/volumes/{vol['id']}/action", {"os-reset_status": {"status": "error"}}, 202)
    r = env.demo.post("/snapshots", {"snapshot": {"volume_id": vol["id"]}}, 400)
    assert "error status" in r.json()["badRequest"]["message"]
    env.demo.get(f"/snapshots/{uuid.uuid4()}", 404)
    env.demo.delete(f"/snapshots/{uuid.uuid4()}", 404)


def test_snapshot_quota_is_enforced(env: Env) -> None:
    project = env.project_id()
    vol = env.create()
    in_use = usage(env, "snapshots")
    env.admin.put(f"/os-quota-sets/{project}", {"quota_set": {"snapshots": in_use + 1}}, 200)
    try:
        snapshot(env.demo, vol["id"])
        r = env.demo.post("/snapshots", {"snapshot": {"volume_id": vol["id"]}}, 413)
        assert "snapshots allowed" in r.json()["overLimit"]["message"]
    finally:
        env.admin.put(f"/os-quota-sets/{project}", {"quota_set": {"snapshots": 100}}, 200)


def test_snapshots_of_in_use_volumes(env: Env) -> None:
    """An attached volume exported over NBD: the snapshot is the export daemon's
    point-in-time copy."""
    vol = env.create()
    write(env, vol["id"], 0x2A)
    attached = attach(env.demo, vol["id"])
    assert env.wait(vol["id"], "in-use")
    try:
        body = {"snapshot": {"volume_id": vol["id"]}}
        r = env.demo.at("3.65").post("/snapshots", body, 400)
        assert "in-use" in r.json()["badRequest"]["message"]
        forced = env.demo.at("3.65").post(
            "/snapshots", {"snapshot": {"volume_id": vol["id"], "force": True}}, 202
        )
        first = wait_for(env.demo, "snapshots", forced.json()["snapshot"]["id"], "available")
        later = snapshot(env.demo, vol["id"])  # 3.66: no force needed
        assert holds(env, f"snapshot-{first['id']}", 0x2A)
        assert holds(env, f"snapshot-{later['id']}", 0x2A)
        assert env.demo.get(f"/volumes/{vol['id']}").json()["volume"]["status"] == "in-use"
    finally:
        detach(env.demo, attached["id"])
    assert env.wait(vol["id"], "available")
