"""Type encryption specs, manageable volumes, workers cleanup, resource filters and
clusters against a real cloud (one per module)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path

from tests.volume.conftest import Env
from tests.volume.resources import snapshot, wait_for


def _type(env: Env, prefix: str) -> dict[str, object]:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    return dict(
        env.admin.post("/types", {"volume_type": {"name": name}}, 200).json()["volume_type"]
    )


def test_encryption_specs_crud(env: Env) -> None:
    vtype = _type(env, "enc")
    path = f"/types/{vtype['id']}/encryption"
    assert env.admin.get(path).json() == {}
    spec = {"provider": "luks", "cipher": "aes-xts-plain64", "key_size": "256",
            "control_location": "front-end"}  # fmt: skip
    env.demo.post(path, {"encryption": spec}, 403)
    env.admin.post(path, {"encryption": {"provider": "luks"}}, 400)
    env.admin.post(path, {"encryption": {**spec, "control_location": "middle"}}, 400)
    env.admin.post(path, {"encryption": {**spec, "key_size": -1}}, 400)
    env.admin.post(path, {"encryption": {**spec, "other": 1}}, 400)
    env.admin.post(f"/types/{uuid.uuid4()}/encryption", {"encryption": spec}, 404)
    created = env.admin.post(path, {"encryption": spec}, 200).json()["encryption"]
    assert created["key_size"] == 256 and created["volume_type_id"] == vtype["id"]
    env.admin.post(path, {"encryption": spec}, 400)  # one per type
    shown = env.admin.get(path).json()
    assert shown["encryption_id"] == created["encryption_id"]
    assert (shown["provider"], shown["cipher"], shown["key_size"]) == (
        "luks",
        "aes-xts-plain64",
        256,
    )
    assert env.admin.get(f"{path}/cipher").json() == {"cipher": "aes-xts-plain64"}
    env.admin.get(f"{path}/nonsense", 404)
    item = f"{path}/{created['encryption_id']}"
    update = {"provider": "plain", "key_size": 128, "control_location": "back-end"}
    assert env.admin.put(item, {"encryption": update}, 200).json() == {"encryption": update}
    shown = env.admin.get(path).json()
    assert (shown["provider"], shown["key_size"], shown["control_location"]) == (
        "plain", 128, "back-end")  # fmt: skip
    assert shown["cipher"] == "aes-xts-plain64"
    # no key manager: volumes of the type are refused, not created unencrypted
    refused = env.demo.post("/volumes", {"volume": {"size": 1, "volume_type": vtype["name"]}})
    assert refused.status_code == 400 and "key manager" in refused.text
    plain = env.create()
    env.demo.post(f"/volumes/{plain['id']}/action",
                  {"os-retype": {"new_type": vtype["name"]}}, 400)  # fmt: skip
    env.demo.delete(f"/volumes/{plain['id']}", 202)
    env.admin.delete(item, 202)
    assert env.admin.get(path).json() == {}
    env.admin.delete(item, 404)
    env.admin.put(item, {"encryption": update}, 404)
    env.admin.delete(f"/types/{vtype['id']}", 202)


def test_encryption_specs_are_fixed_while_volumes_of_the_type_exist(env: Env) -> None:
    vtype = _type(env, "used")
    vol = env.create(volume_type=vtype["name"])
    path = f"/types/{vtype['id']}/encryption"
    spec = {"provider": "luks", "control_location": "front-end"}
    response = env.admin.post(path, {"encryption": spec}, 400)
    assert "Volume type in use" in response.text
    env.demo.delete(f"/volumes/{vol['id']}", 202)
    env.wait(vol["id"], "deleted")
    created = env.admin.post(path, {"encryption": spec}, 200).json()["encryption"]
    env.admin.delete(f"/types/{vtype['id']}", 202)  # its specs go with it
    env.admin.get(path, 404)
    assert created["provider"] == "luks"


def test_unmanage_and_manage_volumes(env: Env) -> None:
    vol = env.create(name="to-unmanage")
    admin_view = env.admin.get(f"/volumes/{vol['id']}").json()["volume"]
    host = admin_view["os-vol-host-attr:host"]
    data = env.volume_file(vol["id"])
    assert data.exists()
    env.demo.post(f"/volumes/{vol['id']}/action", {"os-unmanage": {}}, 403)
    env.admin.post(f"/volumes/{vol['id']}/action", {"os-unmanage": {}}, 202)
    env.wait(vol["id"], "deleted")
    kept = env.volumes_dir / f"unmanaged-{vol['id']}.qcow2"
    assert kept.exists() and not data.exists()
    # a foreign raw file is manageable too
    foreign = env.volumes_dir / "foreign-disk.img"
    with foreign.open("wb") as f:
        f.truncate(3 * 1024**2)
    env.admin.get("/manageable_volumes", 400)  # no host
    env.admin.at("3.7").get("/manageable_volumes", 404, params={"host": host})
    found = env.admin.get("/manageable_volumes/detail", params={"host": host}).json()[
        "manageable-volumes"
    ]
    by_name = {e["reference"]["source-name"]: e for e in found}
    assert by_name[kept.name]["safe_to_manage"] is True and by_name[kept.name]["size"] == 1
    assert by_name[foreign.name]["reason_not_safe"] is None
    query = {"host": host, "sort": "size:asc", "limit": 1}
    summary = env.admin.get("/manageable_volumes", params=query).json()
    assert len(summary["manageable-volumes"]) == 1
    assert "reason_not_safe" not in summary["manageable-volumes"][0]
    body = {"volume": {"host": host, "ref": {"source-name": kept.name}, "name": "back"}}
    env.admin.post("/manageable_volumes", {"volume": {"ref": {"source-name": "x"}}}, 400)
    managed = env.admin.post("/manageable_volumes", body, 202).json()["volume"]
    managed = env.wait(managed["id"], "available", api=env.admin)
    assert managed["name"] == "back" and managed["size"] == 1
    assert env.volume_file(managed["id"]).exists() and not kept.exists()
    # the raw file, on the legacy path, without a pool in the host
    backend = host.partition("#")[0]
    legacy = {"volume": {"host": backend, "ref": {"source-name": foreign.name}}}
    raw = env.admin.post("/os-volume-manage", legacy, 202).json()["volume"]
    raw = env.wait(raw["id"], "available", api=env.admin)
    assert raw["size"] == 1
    assert env.admin.get(f"/volumes/{raw['id']}").json()["volume"]["os-vol-host-attr:host"] == host
    # a reference the backend does not hold
    missing = {"volume": {"host": host, "ref": {"source-name": "no-such-file"}}}
    bad = env.admin.post("/manageable_volumes", missing, 202).json()["volume"]
    assert env.wait(bad["id"], "error", api=env.admin)["consumes_quota"] is False  # error_managing
    for vid in (managed["id"], raw["id"], bad["id"]):
        env.admin.delete(f"/volumes/{vid}", 202)
        env.wait(vid, "deleted", api=env.admin)
    assert not list(env.volumes_dir.glob("volume-*"))
    project = env.project_id("tinystack-admin")
    usage = env.admin.get(f"/os-quota-sets/{project}?usage=true").json()["quota_set"]
    assert usage["volumes"]["in_use"] == 0 and usage["gigabytes"]["in_use"] == 0


def test_resource_filters_and_clusters(env: Env) -> None:
    env.admin.at("3.32").get("/resource_filters", 404)
    found = env.demo.get("/resource_filters").json()["resource_filters"]
    volume = next(f for f in found if f["resource"] == "volume")
    assert {"name", "status", "metadata"} <= set(volume["filters"])
    only = env.demo.get("/resource_filters", params={"resource": "backup"}).json()
    assert [f["resource"] for f in only["resource_filters"]] == ["backup"]
    # no service of this deployment is clustered
    env.admin.at("3.6").get("/clusters", 404)
    env.demo.get("/clusters", 403)
    assert env.admin.get("/clusters").json() == {"clusters": []}
    assert env.admin.get("/clusters/detail").json() == {"clusters": []}
    env.admin.get("/clusters/somewhere", 404)
    env.admin.put("/clusters/disable", {"name": "somewhere"}, 404)
    env.admin.put("/clusters/disable", {"binary": "cinder-volume"}, 400)
    env.admin.put("/clusters/reboot", {"name": "somewhere"}, 404)


def test_workers_cleanup_replays_a_left_operation(env: Env) -> None:
    env.admin.at("3.23").post("/workers/cleanup", {}, 404)
    env.demo.post("/workers/cleanup", {}, 403)
    env.admin.post("/workers/cleanup", {"nonsense": 1}, 400)
    env.admin.post("/workers/cleanup", {"resource_id": str(uuid.uuid4())}, 400)
    # no service is down: nothing to clean by default
    assert env.admin.post("/workers/cleanup", None, 202).json() == {
        "cleaning": [], "unavailable": []}  # fmt: skip
    vol = env.create()
    # an extend a killed manager left: the volume extending, its record in workers
    host = env.admin.get(f"/volumes/{vol['id']}").json()["volume"]["os-vol-host-attr:host"]
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(env.cloud.state_dir / "volume.sqlite") as db:
        db.execute("UPDATE volumes SET status = 'extending' WHERE id = ?", (vol["id"],))
        db.execute(
            "INSERT INTO workers (resource_type, resource_id, status, operation,"
            " service_host, args, created_at, updated_at)"
            " VALUES ('Volume', ?, 'extending', 'extend', ?, ?, ?, ?)",
            (vol["id"], host, json.dumps({"new_size": 2}), now, now),
        )
    answer = env.admin.post("/workers/cleanup", {"is_up": True}, 202).json()
    assert [s["host"] for s in answer["cleaning"]] == [host.partition("#")[0]]
    assert "cinder-volume" not in {s["binary"] for s in answer["unavailable"]}
    extended = env.wait(vol["id"], "available")
    assert extended["size"] == 2
    env.demo.delete(f"/volumes/{vol['id']}", 202)


def test_reimage_rewrites_the_volume_in_place(env: Env, tmp_path: Path) -> None:
    raw = tmp_path / "disk.raw"
    with raw.open("wb") as f:
        f.write(b"tinystack-reimage".ljust(4096, b"\0"))
        f.truncate(8 * 1024**2)
    created = env.cloud.osc("image", "create", "--disk-format", "raw", "--container-format",
                            "bare", "--public", "--file", str(raw), "reimage-src")  # fmt: skip
    image_id = str(created["id"])
    vol = env.create()
    action = f"/volumes/{vol['id']}/action"
    env.demo.at("3.67").post(action, {"os-reimage": {"image_id": image_id}}, 404)
    env.demo.post(action, {"os-reimage": {"image_id": "nope"}}, 400)
    env.demo.post(action, {"os-reimage": {"image_id": str(uuid.uuid4())}}, 400)
    env.demo.post(action, {"os-reimage": {"image_id": image_id, "other": 1}}, 400)
    env.demo.post(action, {"os-reimage": {"image_id": image_id}}, 202)
    done = env.wait(vol["id"], "available")
    assert done["bootable"] == "true"
    assert done["volume_image_metadata"]["image_id"] == image_id
    out = tmp_path / "out.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(env.volume_file(vol["id"])),
                    str(out)], check=True)  # fmt: skip
    assert out.read_bytes()[:17] == b"tinystack-reimage"
    env.demo.delete(f"/volumes/{vol['id']}", 202)


def test_an_image_names_the_type_of_its_volumes(env: Env, tmp_path: Path) -> None:
    vtype = _type(env, "img-type")
    raw = tmp_path / "typed.raw"
    with raw.open("wb") as f:
        f.truncate(1024**2)
    created = env.cloud.osc("image", "create", "--disk-format", "raw", "--container-format",
                            "bare", "--public", "--file", str(raw), "--property",
                            f"cinder_img_volume_type={vtype['name']}", "typed-src")  # fmt: skip
    vol = env.create(imageRef=str(created["id"]))
    assert vol["volume_type"] == vtype["name"]
    explicit = env.create(imageRef=str(created["id"]), volume_type="__DEFAULT__")
    assert explicit["volume_type"] == "__DEFAULT__"
    for found in (vol, explicit):
        env.demo.delete(f"/volumes/{found['id']}", 202)


def _snapshot_usage(env: Env) -> tuple[int, int]:
    project = env.project_id("tinystack-admin")
    sets = env.admin.get(f"/os-quota-sets/{project}?usage=true").json()["quota_set"]
    return sets["snapshots"]["in_use"], sets["gigabytes"]["in_use"]


def test_unmanage_and_manage_snapshots(env: Env) -> None:
    vol = env.create(name="snapped-for-manage", api=env.admin)
    host = env.admin.get(f"/volumes/{vol['id']}").json()["volume"]["os-vol-host-attr:host"]
    base = _snapshot_usage(env)
    snap = wait_for(env.admin, "snapshots", snapshot(env.admin, vol["id"])["id"], "available")
    data = env.volumes_dir / f"snapshot-{snap['id']}.qcow2"
    assert data.exists()
    action = f"/snapshots/{snap['id']}/action"
    env.demo.post(action, {"os-unmanage": None}, 404)
    env.admin.post(action, {"os-unmanage": None}, 202)
    wait_for(env.admin, "snapshots", snap["id"], "deleted")
    kept = env.volumes_dir / f"unmanaged-snapshot-{snap['id']}.qcow2"
    assert kept.exists() and not data.exists()
    assert _snapshot_usage(env) == (base[0], base[1])
    # listed as manageable snapshots only, not as manageable volumes
    env.admin.get("/manageable_snapshots", 400)  # no host
    env.admin.at("3.7").get("/manageable_snapshots", 404, params={"host": host})
    listed = env.admin.get("/manageable_snapshots/detail", params={"host": host}).json()
    by_name = {e["reference"]["source-name"]: e for e in listed["manageable-snapshots"]}
    assert by_name[kept.name]["safe_to_manage"] is True and by_name[kept.name]["size"] == 1
    volumes = env.admin.get("/manageable_volumes", params={"host": host}).json()
    assert kept.name not in [e["reference"]["source-name"] for e in volumes["manageable-volumes"]]
    # refused: a file outside the snapshot namespace, a missing volume, bad bodies
    foreign = env.volumes_dir / "foreign-snap.img"
    foreign.write_bytes(b"\0" * 1024)
    for ref, status in (({"source-name": foreign.name}, 400), ({"source-name": "nope"}, 400)):
        body = {"snapshot": {"volume_id": vol["id"], "ref": ref}}
        bad = env.admin.post("/manageable_snapshots", body, status).json()
        assert "invalid backend reference" in bad["badRequest"]["message"]
    assert _snapshot_usage(env) == (base[0], base[1])
    env.admin.post("/manageable_snapshots", {"snapshot": {"ref": {"source-name": "x"}}}, 400)
    missing = {"snapshot": {"volume_id": str(uuid.uuid4()), "ref": {"source-name": kept.name}}}
    env.admin.post("/manageable_snapshots", missing, 404)
    env.demo.post("/manageable_snapshots", missing, 403)
    # too big for the volume: an image of 2 GiB
    big = env.volumes_dir / "unmanaged-snapshot-big.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(big), "2G"], check=True)
    body = {"snapshot": {"volume_id": vol["id"], "ref": {"source-name": big.name}}}
    assert "exceeds" in env.admin.post("/os-snapshot-manage", body, 400).text
    big.unlink()
    foreign.unlink()
    # managed back, with name, description and metadata, on the legacy path
    body = {"snapshot": {"volume_id": vol["id"], "ref": {"source-name": kept.name},
                         "name": "back", "description": "d", "metadata": {"k": "v"}}}  # fmt: skip
    managed = env.admin.post("/os-snapshot-manage", body, 202).json()["snapshot"]
    managed = wait_for(env.admin, "snapshots", managed["id"], "available")
    assert managed["name"] == "back" and managed["metadata"] == {"k": "v"}
    assert managed["size"] == 1 and managed["volume_id"] == vol["id"]
    assert (env.volumes_dir / f"snapshot-{managed['id']}.qcow2").exists() and not kept.exists()
    listed = env.admin.get("/manageable_snapshots/detail", params={"host": host}).json()
    (entry,) = [e for e in listed["manageable-snapshots"] if e["cinder_id"] == managed["id"]]
    assert entry["safe_to_manage"] is False and entry["source_reference"] is not None
    assert _snapshot_usage(env) == (base[0] + 1, base[1] + 1)
    # the managed snapshot is a real one: a volume from it, then everything goes
    clone = env.create(snapshot_id=managed["id"], api=env.admin)
    env.admin.delete(f"/volumes/{clone['id']}", 202)
    env.wait(clone["id"], "deleted", api=env.admin)
    env.admin.delete(f"/snapshots/{managed['id']}", 202)
    wait_for(env.admin, "snapshots", managed["id"], "deleted")
    env.admin.delete(f"/volumes/{vol['id']}", 202)
    env.wait(vol["id"], "deleted", api=env.admin)
    assert _snapshot_usage(env) == (base[0], base[1] - 1)
