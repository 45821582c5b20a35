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
