"""Group types and generic volume groups (3.11-3.20) against a real cloud."""

from __future__ import annotations

import time
import uuid

from tests.volume.conftest import Env


def _wait_group(env: Env, gid: str, *statuses: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = env.demo.get(f"/groups/{gid}", None)
        if response.status_code == 404 and "deleted" in statuses:
            return {"status": "deleted"}
        group: dict[str, object] = response.json()["group"]
        if group["status"] in statuses:
            return group
        time.sleep(0.05)
    raise AssertionError(f"group {gid} not in {statuses}")


def test_group_types_and_specs(env: Env) -> None:
    name = f"gt-{uuid.uuid4().hex[:6]}"
    created = env.admin.post("/group_types", {"group_type": {
        "name": name, "group_specs": {"consistent_group_snapshot_enabled": "<is> False"}}},
        202).json()["group_type"]  # fmt: skip
    assert created["group_specs"] == {"consistent_group_snapshot_enabled": "<is> False"}
    env.admin.at("3.10").get("/group_types", 404)
    assert created["id"] in [t["id"] for t in env.demo.get("/group_types").json()["group_types"]]
    specs = f"/group_types/{created['id']}/group_specs"
    env.admin.post(specs, {"group_specs": {"a": "1"}}, 202)
    assert env.admin.get(f"{specs}/a").json() == {"a": "1"}
    env.admin.put(f"{specs}/a", {"a": "2"}, 200)
    env.admin.delete(f"{specs}/a", 202)
    env.admin.get(f"{specs}/a", 404)
    updated = env.admin.put(f"/group_types/{created['id']}",
                            {"group_type": {"description": "d"}}, 200)  # fmt: skip
    assert updated.json()["group_type"]["description"] == "d"
    env.admin.post("/group_types", {"group_type": {"name": name}}, 409)
    env.demo.post("/group_types", {"group_type": {"name": "x"}}, 403)
    env.admin.get("/group_types/default", 404)
    env.admin.delete(f"/group_types/{created['id']}", 202)


def test_groups_with_volumes(env: Env) -> None:
    gtype = env.admin.post("/group_types", {"group_type": {"name": f"g-{uuid.uuid4().hex[:6]}"}},
                           202).json()["group_type"]  # fmt: skip
    body = {"group": {"group_type": gtype["id"], "volume_types": ["__DEFAULT__"], "name": "grp"}}
    created = env.demo.post("/groups", body, 202).json()["group"]
    group = _wait_group(env, created["id"], "available")
    assert group["group_type"] == gtype["id"]
    vol = env.create(group_id=created["id"])
    assert vol["group_id"] == created["id"]
    shown = env.demo.get(f"/groups/{created['id']}", params={"list_volume": "true"}).json()
    assert shown["group"]["volumes"] == [vol["id"]]
    env.demo.delete(f"/volumes/{vol['id']}", 400)
    other = env.create()
    env.demo.put(f"/groups/{created['id']}", {"group": {"add_volumes": other["id"]}}, 202)
    env.demo.put(f"/groups/{created['id']}", {"group": {"remove_volumes": other["id"]}}, 202)
    env.demo.put(f"/groups/{created['id']}", {"group": {}}, 400)
    copy = env.demo.post("/groups/action", {"create-from-src": {
        "source_group_id": created["id"], "name": "copy"}}, 202).json()["group"]  # fmt: skip
    _wait_group(env, copy["id"], "available")
    action = f"/groups/{created['id']}/action"
    env.demo.post(action, {"delete": {"delete-volumes": False}}, 400)
    env.demo.post(action, {"reset_status": {"status": "error"}}, 403)
    env.demo.post(action, {"delete": {"delete-volumes": True}}, 202)
    _wait_group(env, created["id"], "deleted")
    env.wait(vol["id"], "deleted")
    copy_vols = env.demo.get(f"/groups/{copy['id']}", params={"list_volume": "1"}).json()
    for vid in copy_vols["group"]["volumes"]:
        env.wait(vid, "available")
    env.demo.post(f"/groups/{copy['id']}/action", {"delete": {"delete-volumes": True}}, 202)
    _wait_group(env, copy["id"], "deleted")
    env.demo.delete(f"/volumes/{other['id']}", 202)
    project = env.project_id()
    quota = env.demo.get(f"/os-quota-sets/{project}", params={"usage": "1"}).json()["quota_set"]
    assert quota["groups"]["in_use"] == 0
    env.admin.delete(f"/group_types/{gtype['id']}", 202)


def _wait_group_snapshot(env: Env, gsid: str, *statuses: str) -> dict[str, object]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = env.demo.get(f"/group_snapshots/{gsid}", None)
        if response.status_code == 404 and "deleted" in statuses:
            return {"status": "deleted"}
        found: dict[str, object] = response.json()["group_snapshot"]
        if found["status"] in statuses:
            return found
        time.sleep(0.05)
    raise AssertionError(f"group snapshot {gsid} not in {statuses}")


def test_group_snapshots_and_groups_from_them(env: Env) -> None:
    gtype = env.admin.post("/group_types", {"group_type": {"name": f"gs-{uuid.uuid4().hex[:6]}"}},
                           202).json()["group_type"]  # fmt: skip
    body = {"group": {"group_type": gtype["id"], "volume_types": ["__DEFAULT__"]}}
    group = env.demo.post("/groups", body, 202).json()["group"]
    _wait_group(env, group["id"], "available")
    vols = [env.create(group_id=group["id"]) for _ in range(2)]
    env.demo.at("3.13").post("/group_snapshots", {"group_snapshot": {"group_id": group["id"]}}, 404)
    env.demo.post("/group_snapshots", {"group_snapshot": {"group_id": str(uuid.uuid4())}}, 404)
    created = env.demo.post("/group_snapshots", {"group_snapshot": {
        "group_id": group["id"], "name": "gs1"}}, 202).json()["group_snapshot"]  # fmt: skip
    gs = _wait_group_snapshot(env, created["id"], "available")
    assert gs["group_id"] == group["id"] and gs["group_type_id"] == gtype["id"]
    snaps = env.demo.get("/snapshots/detail").json()["snapshots"]
    members = [s for s in snaps if s.get("group_snapshot_id") == created["id"]]
    assert sorted(s["volume_id"] for s in members) == sorted(v["id"] for v in vols)
    env.demo.delete(f"/snapshots/{members[0]['id']}", 400)  # part of a group snapshot
    listed = env.demo.get("/group_snapshots").json()["group_snapshots"]
    assert {"id": created["id"], "name": "gs1"} in listed
    # a group from the group snapshot: a volume from each member snapshot
    src = {"create-from-src": {"group_snapshot_id": created["id"], "name": "from-gs"}}
    copy = env.demo.post("/groups/action", src, 202).json()["group"]
    shown = _wait_group(env, copy["id"], "available")
    assert shown["group_snapshot_id"] == created["id"]
    copy_vols = env.demo.get("/volumes/detail", params={"group_id": copy["id"]}).json()["volumes"]
    for vol in copy_vols:
        env.wait(vol["id"], "available")
    assert sorted(v["snapshot_id"] for v in copy_vols) == sorted(m["id"] for m in members)
    env.demo.post(f"/groups/{group['id']}/action", {"delete": {"delete-volumes": True}}, 400)
    # reset status (3.19, admin)
    action = f"/group_snapshots/{created['id']}/action"
    env.demo.post(action, {"reset_status": {"status": "error"}}, 403)
    env.admin.at("3.18").post(action, {"reset_status": {"status": "error"}}, 404)
    for status in ("creating", "error"):  # what an admin sets stays
        env.admin.post(action, {"reset_status": {"status": status}}, 202)
        shown = env.demo.get(f"/group_snapshots/{created['id']}").json()["group_snapshot"]
        assert shown["status"] == status
    env.demo.post(f"/groups/{copy['id']}/action", {"delete": {"delete-volumes": True}}, 202)
    _wait_group(env, copy["id"], "deleted")
    env.demo.delete(f"/group_snapshots/{created['id']}", 202)
    _wait_group_snapshot(env, created["id"], "deleted")
    env.demo.post(f"/groups/{group['id']}/action", {"delete": {"delete-volumes": True}}, 202)
    _wait_group(env, group["id"], "deleted")
