"""The volumes API against a real cloud: create, list, show, update, delete, metadata,
actions, and the upstream errors for bad input."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import uuid

from tests.volume.conftest import Env


def test_create_show_list_update_delete(env: Env) -> None:
    vol = env.create(name="first", description="d", metadata={"k": "v"})
    assert vol["size"] == 1 and vol["name"] == "first" and vol["metadata"] == {"k": "v"}
    assert vol["volume_type"] == "__DEFAULT__" and vol["bootable"] == "false"
    assert vol["availability_zone"] == "nova" and vol["attachments"] == []
    assert "os-vol-host-attr:host" not in vol
    shown = env.admin.get(f"/volumes/{vol['id']}").json()["volume"]
    assert shown["os-vol-host-attr:host"].endswith("@file#file")
    assert shown["os-vol-tenant-attr:tenant_id"] == env.project_id()
    listed = env.demo.get("/volumes").json()["volumes"]
    assert vol["id"] in [v["id"] for v in listed]
    assert set(listed[0]) == {"id", "name", "links"}
    updated = env.demo.put(
        f"/volumes/{vol['id']}", {"volume": {"name": "renamed", "metadata": {"a": "b"}}}, 200
    ).json()["volume"]
    assert updated["name"] == "renamed" and updated["metadata"] == {"a": "b"}
    file = env.volume_file(vol["id"])
    assert file.exists()
    env.demo.delete(f"/volumes/{vol['id']}", 202)
    env.wait(vol["id"], "deleted")
    assert not file.exists()


def test_bad_sizes_types_and_zones(env: Env) -> None:
    for size in (0, -1, "x", 1.5):
        r = env.demo.post("/volumes", {"volume": {"size": size}}, 400)
        assert "badRequest" in r.json()
    r = env.demo.post("/volumes", {"volume": {"size": 1, "volume_type": "nope"}}, 404)
    assert "itemNotFound" in r.json()
    r = env.demo.post("/volumes", {"volume": {"size": 1, "availability_zone": "mars"}}, 400)
    assert "Availability zone 'mars' is invalid" in r.json()["badRequest"]["message"]
    env.demo.post("/volumes", {"volume": {"size": 1, "multiattach": True}}, 400)
    env.demo.post("/volumes", {"volume": {"size": 1, "bogus": 1}}, 400)
    env.demo.at("3.0").post("/volumes", {"volume": {"size": 1, "bogus": 1}}, 202)
    env.demo.post("/volumes", {"nothing": {}}, 400)
    env.demo.get(f"/volumes/{uuid.uuid4()}", 404)


def test_lists_filter_sort_page_and_count(env: Env) -> None:
    made = [env.create(name=f"page-{i}", metadata={"grp": "p"}, wait="available") for i in range(3)]
    ids = {v["id"] for v in made}
    found = env.demo.get("/volumes/detail", params={"metadata": "{'grp': 'p'}"}).json()
    assert {v["id"] for v in found["volumes"]} == ids
    page = env.demo.get(
        "/volumes",
        params={"metadata": "{'grp': 'p'}", "limit": 2, "sort": "name:asc", "with_count": "true"},
    ).json()
    assert [v["name"] for v in page["volumes"]] == ["page-0", "page-1"]
    assert page["count"] == 3 and page["volumes_links"][0]["rel"] == "next"
    assert "marker=" in page["volumes_links"][0]["href"]
    rest = env.demo.get(
        "/volumes",
        params={
            "metadata": "{'grp': 'p'}",
            "limit": 2,
            "sort": "name:asc",
            "marker": page["volumes"][-1]["id"],
        },
    ).json()
    assert [v["name"] for v in rest["volumes"]] == ["page-2"]
    by_name = env.demo.get("/volumes/detail", params={"name": "page-1"}).json()["volumes"]
    assert [v["name"] for v in by_name] == ["page-1"]
    summary = env.demo.get("/volumes/summary").json()["volume-summary"]
    assert summary["total_count"] >= 3 and summary["metadata"]["grp"] == ["p"]
    env.demo.at("3.11").get("/volumes/summary", 404)
    env.demo.get("/volumes", 400, params={"sort": "name:sideways"})
    env.demo.get("/volumes", 400, params={"limit": "-1"})
    others = env.admin.get("/volumes", params={"all_tenants": "1"}).json()["volumes"]
    assert ids <= {v["id"] for v in others}
    assert not ids & {v["id"] for v in env.admin.get("/volumes").json()["volumes"]}
    for vol in made:
        env.demo.delete(f"/volumes/{vol['id']}", 202)


def test_metadata_api(env: Env) -> None:
    vol = env.create()
    base = f"/volumes/{vol['id']}/metadata"
    assert env.demo.post(base, {"metadata": {"a": "1"}}, 200).json() == {"metadata": {"a": "1"}}
    assert env.demo.post(base, {"metadata": {"b": "2"}}, 200).json()["metadata"] == {
        "a": "1",
        "b": "2",
    }
    assert env.demo.put(base, {"metadata": {"c": "3"}}, 200).json() == {"metadata": {"c": "3"}}
    assert env.demo.get(f"{base}/c").json() == {"meta": {"c": "3"}}
    env.demo.put(f"{base}/c", {"meta": {"c": "4"}}, 200)
    env.demo.put(f"{base}/c", {"meta": {"d": "4"}}, 400)
    env.demo.delete(f"{base}/c", 200)
    env.demo.get(f"{base}/c", 404)
    env.demo.post(base, {"metadata": {"": "x"}}, 400)
    env.demo.delete(f"/volumes/{vol['id']}", 202)


def test_extend_clone_bootable_readonly_and_delete_rules(env: Env) -> None:
    vol = env.create()
    action = f"/volumes/{vol['id']}/action"
    env.demo.post(action, {"os-extend": {"new_size": 1}}, 400)
    env.demo.post(action, {"os-extend": {"new_size": 3}}, 202)
    grown = env.wait(vol["id"], "available")
    assert grown["size"] == 3
    info = subprocess.run(
        ["qemu-img", "info", "--output=json", "-U", str(env.volume_file(vol["id"]))],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(info.stdout)["virtual-size"] == 3 * 1024**3
    clone = env.create(source_volid=vol["id"], size=None)
    assert clone["size"] == 3 and clone["source_volid"] == vol["id"]
    env.demo.post("/volumes", {"volume": {"size": 1, "source_volid": vol["id"]}}, 400)
    env.demo.post(action, {"os-set_bootable": {"bootable": True}}, 200)
    assert env.demo.get(f"/volumes/{vol['id']}").json()["volume"]["bootable"] == "true"
    env.demo.post(action, {"os-update_readonly_flag": {"readonly": True}}, 202)
    assert env.demo.get(f"/volumes/{vol['id']}").json()["volume"]["metadata"]["readonly"] == "True"
    env.demo.post(action, {"os-reset_status": {"status": "error"}}, 403)
    env.admin.post(action, {"os-reset_status": {"status": "maintenance"}}, 202)
    env.demo.delete(f"/volumes/{vol['id']}", 400)
    env.admin.post(action, {"os-reset_status": {"status": "available"}}, 202)
    env.demo.post(action, {"os-nonsense": {}}, 400)
    env.admin.post(action, {"os-force_delete": {}}, 202)
    env.wait(vol["id"], "deleted")
    env.demo.delete(f"/volumes/{clone['id']}", 202)


def test_image_metadata_actions(env: Env) -> None:
    vol = env.create()
    action = f"/volumes/{vol['id']}/action"
    set_ = env.demo.post(action, {"os-set_image_metadata": {"metadata": {"os_distro": "x"}}}, 200)
    assert set_.json() == {"metadata": {"os_distro": "x"}}
    shown = env.demo.post(action, {"os-show_image_metadata": None}, 200).json()
    assert shown == {"metadata": {"os_distro": "x"}}
    detail = env.demo.get(f"/volumes/{vol['id']}").json()["volume"]
    assert detail["volume_image_metadata"] == {"os_distro": "x"}
    env.demo.post(action, {"os-unset_image_metadata": {"key": "os_distro"}}, 200)
    env.demo.post(action, {"os-unset_image_metadata": {"key": "os_distro"}}, 404)
    env.demo.delete(f"/volumes/{vol['id']}", 202)


def test_upload_to_image(env: Env) -> None:
    vol = env.create()
    action = f"/volumes/{vol['id']}/action"
    started = env.demo.post(
        action, {"os-volume_upload_image": {"image_name": "from-volume"}}, 202
    ).json()["os-volume_upload_image"]
    assert started["status"] == "uploading" and started["disk_format"] == "raw"
    env.wait(vol["id"], "available", timeout=120)  # a whole 1 GiB written and hashed
    image = env.cloud.osc("image", "show", started["image_id"], cloud="tinystack-demo")
    assert image["status"] == "active" and image["size"] == 1024**3
    qcow = env.demo.post(
        action, {"os-volume_upload_image": {"image_name": "as-qcow2", "disk_format": "qcow2"}}, 202
    ).json()["os-volume_upload_image"]
    env.wait(vol["id"], "available", timeout=120)
    image = env.cloud.osc("image", "show", qcow["image_id"], cloud="tinystack-demo")
    assert image["status"] == "active" and image["disk_format"] == "qcow2"
    assert image["size"] < 1024**2
    env.cloud.osc("image", "delete", qcow["image_id"], cloud="tinystack-demo")
    env.cloud.osc("image", "delete", started["image_id"], cloud="tinystack-demo")
    env.demo.delete(f"/volumes/{vol['id']}", 202)


def test_retype_on_the_same_backend(env: Env) -> None:
    names = [f"rt-{n}-{uuid.uuid4().hex[:4]}" for n in ("a", "b", "c")]
    backends = ["file", "file", "elsewhere"]
    for name, backend in zip(names, backends, strict=True):
        env.admin.post("/types", {"volume_type": {
            "name": name, "extra_specs": {"volume_backend_name": backend}}}, 200)  # fmt: skip
    vol = env.create(volume_type=names[0])
    action = f"/volumes/{vol['id']}/action"
    env.demo.post(action, {"os-retype": {"new_type": names[0]}}, 400)
    env.demo.post(action, {"os-retype": {"new_type": "no-such-type"}}, 404)
    env.demo.post(action, {"os-retype": {"new_type": names[1], "migration_policy": "never"}}, 202)
    assert env.wait(vol["id"], "available")["volume_type"] == names[1]
    project = env.project_id()
    quota = env.demo.get(f"/os-quota-sets/{project}", params={"usage": "1"}).json()["quota_set"]
    assert quota[f"volumes_{names[1]}"]["in_use"] == 1
    assert quota[f"volumes_{names[0]}"]["in_use"] == 0
    env.demo.post(action, {"os-retype": {"new_type": names[2]}}, 202)
    after = env.wait(vol["id"], "available")
    assert after["volume_type"] == names[1]
    assert any(m["event_id"].endswith("_001_003") for m in env.messages(vol["id"]))
    quota = env.demo.get(f"/os-quota-sets/{project}", params={"usage": "1"}).json()["quota_set"]
    assert quota[f"volumes_{names[2]}"] == {"limit": -1, "in_use": 0, "reserved": 0}
    env.demo.delete(f"/volumes/{vol['id']}", 202)
    env.wait(vol["id"], "deleted")


def test_retype_to_multiattach_makes_a_qcow2_volume_raw(env: Env) -> None:
    """Several QEMUs write a multiattach volume at once, which qcow2 cannot allow: an
    available qcow2 volume retyped to a multiattach type becomes raw with its data
    kept; an in-use one may not change multiattach (upstream's 400)."""
    name = f"rt-multi-{uuid.uuid4().hex[:4]}"
    env.admin.post("/types", {"volume_type": {
        "name": name, "extra_specs": {"multiattach": "<is> True"}}}, 200)  # fmt: skip
    vol = env.create(wait="available")
    qcow2 = env.volume_file(vol["id"])
    assert qcow2.suffix == ".qcow2"
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5c 1M 64k", str(qcow2)],
                   check=True, capture_output=True)  # fmt: skip
    action = f"/volumes/{vol['id']}/action"
    env.demo.post(action, {"os-retype": {"new_type": name}}, 202)
    after = env.wait(vol["id"], "available")
    assert after["volume_type"] == name and after["multiattach"] is True
    raw = qcow2.with_suffix(".raw")
    assert raw.exists() and not qcow2.exists()
    with raw.open("rb") as f:
        f.seek(1 << 20)
        assert f.read(65536) == b"\x5c" * 65536
    db = sqlite3.connect(env.cloud.state_dir / "volume.sqlite")
    with db:  # attached as far as the API can tell (the attach flow is another module's)
        db.execute(
            "INSERT INTO volume_attachment (id, volume_id, attach_status, attach_mode, "
            "instance_uuid, created_at) VALUES (?, ?, 'attached', 'rw', ?, ?)",
            (str(uuid.uuid4()), vol["id"], str(uuid.uuid4()), "2026-01-01 00:00:00"),
        )
    env.admin.post(action, {"os-reset_status": {
        "status": "in-use", "attach_status": "attached"}}, 202)  # fmt: skip
    r = env.demo.post(action, {"os-retype": {"new_type": "__DEFAULT__"}}, 400)
    assert "only allowed on available volumes" in r.json()["badRequest"]["message"]
    with db:
        db.execute("DELETE FROM volume_attachment WHERE volume_id = ?", (vol["id"],))
    db.close()
    env.admin.post(action, {"os-reset_status": {
        "status": "available", "attach_status": "detached"}}, 202)  # fmt: skip
    env.demo.delete(f"/volumes/{vol['id']}", 202)
    env.wait(vol["id"], "deleted")
    assert not raw.exists()


def test_online_extend_needs_342(env: Env) -> None:
    """An in-use volume grows at 3.42+ and stays in-use (its attachment written straight
    into the database: the attachments API is another module's)."""
    vol = env.create()
    db = sqlite3.connect(env.cloud.state_dir / "volume.sqlite")
    with db:
        db.execute(
            "INSERT INTO volume_attachment (id, volume_id, attach_status, attach_mode, "
            "instance_uuid, created_at) VALUES (?, ?, 'attached', 'rw', ?, ?)",
            (str(uuid.uuid4()), vol["id"], str(uuid.uuid4()), "2026-01-01 00:00:00"),
        )
    db.close()
    env.admin.post(f"/volumes/{vol['id']}/action", {"os-reset_status": {
        "status": "in-use", "attach_status": "attached"}}, 202)  # fmt: skip
    action = f"/volumes/{vol['id']}/action"
    env.demo.at("3.41").post(action, {"os-extend": {"new_size": 2}}, 400)
    env.demo.at("3.42").post(action, {"os-extend": {"new_size": 2}}, 202)
    grown = env.wait(vol["id"], "in-use")
    assert grown["size"] == 2 and len(grown["attachments"]) == 1
    env.demo.delete(f"/volumes/{vol['id']}", 400)
