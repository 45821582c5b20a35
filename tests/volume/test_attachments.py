"""Attachments on a real cloud with the file backend: the 3.44 flow Nova drives (through
openstacksdk), with a real NBD export opened by qemu-io; the legacy actions Tempest
drives; multiattach; QoS and access modes in the connection info; bad input with
upstream's statuses and messages."""

from __future__ import annotations

import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.volume.attach_support import (
    STORAGE_HOST,
    attach_conf,
    connector,
    exported,
    kill_export_daemons,
    nbd_url,
    qemu_io,
)
from tests.volume.conftest import Api, Env, MakeEnv


@pytest.fixture(scope="module")
def env(make_env: MakeEnv) -> Iterator[Env]:
    found = make_env(attach_conf())
    try:
        yield found
    finally:
        found.cloud.stop()
        kill_export_daemons(found.volumes_dir)


def _other_project_token(env: Env) -> str:
    """A member of a project of its own."""
    name = "other-" + uuid.uuid4().hex[:6]
    password = uuid.uuid4().hex
    env.cloud.osc("project", "create", name)
    env.cloud.osc("user", "create", "--password", password, "--project", name, name)
    env.cloud.osc("role", "add", "--user", name, "--project", name, "member")
    auth = {
        "identity": {
            "methods": ["password"],
            "password": {"user": {"name": name, "domain": {"id": "default"}, "password": password}},
        },
        "scope": {"project": {"name": name, "domain": {"id": "default"}}},
    }
    response = httpx.post(f"{env.cloud.auth_url}/auth/tokens", json={"auth": auth}, timeout=30)
    assert response.status_code == 201, response.text
    return str(response.headers["X-Subject-Token"])


def _attachments(env: Env) -> Api:
    return env.demo.at("3.54")


def _create(api: Api, volume_id: str, server: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"volume_uuid": volume_id, **extra}
    if server is not None:
        body["instance_uuid"] = server
    return dict(api.post("/attachments", {"attachment": body}, 200).json()["attachment"])


def test_nova_flow_exports_over_nbd_and_removes_the_export(env: Env) -> None:
    sdk = env.cloud.sdk("tinystack-demo")
    vol = env.create(name="nbd")
    server = str(uuid.uuid4())
    att = sdk.block_storage.create_attachment(vol["id"], instance=server)
    assert att.status == "reserved" and not att.connection_info
    assert env.wait(vol["id"], "reserved")["attachments"] == []

    att = sdk.block_storage.update_attachment(att, connector=connector())
    info = att.connection_info
    assert info["driver_volume_type"] == "nbd" and info["attachment_id"] == att.id
    assert info["access_mode"] == "rw" and info["qos_specs"] is None
    assert info["encrypted"] is False and info["export_name"] == att.id
    assert env.demo.get(f"/volumes/{vol['id']}").json()["volume"]["status"] == "attaching"
    url = nbd_url(info)
    qemu_io(url, "write -P 0x5a 0 1M")
    assert "read 1048576/1048576" in qemu_io(url, "read -P 0x5a 0 1M")

    sdk.block_storage.complete_attachment(att)
    volume = env.demo.get(f"/volumes/{vol['id']}").json()["volume"]
    assert volume["status"] == "in-use"
    (shown,) = volume["attachments"]
    assert shown["attachment_id"] == att.id and shown["server_id"] == server
    assert shown["id"] == vol["id"] and shown["volume_id"] == vol["id"]
    assert shown["device"] == "/dev/vdb" and shown["attached_at"]
    assert shown["host_name"] is None  # only admins and services see the host
    admin_view = env.admin.get(f"/volumes/{vol['id']}").json()["volume"]["attachments"][0]
    assert admin_view["host_name"] == "compute-remote"

    detail = env.demo.at("3.44").get(f"/attachments/{att.id}").json()["attachment"]
    assert detail["status"] == "attached" and detail["instance"] == server
    assert detail["attach_mode"] == "rw" and detail["attached_at"] and detail["detached_at"] == ""
    listed = env.demo.at("3.27").get("/attachments", params={"volume_id": vol["id"]}).json()
    assert listed == {
        "attachments": [
            {"id": att.id, "status": "attached", "instance": server, "volume_id": vol["id"]}
        ]
    }

    remaining = env.demo.at("3.44").delete(f"/attachments/{att.id}", 200).json()
    assert remaining == {"attachments": []}
    assert not exported(url)
    assert env.wait(vol["id"], "available")["attachments"] == []
    assert str(att.id) not in (env.volumes_dir / ".tinystack" / "exports.json").read_text()

    # the data stayed in the volume: a new attachment reads it back
    again = _create(_attachments(env), vol["id"], server, connector=connector("other-host"))
    assert again["status"] == "attaching"
    other = nbd_url(again["connection_info"])
    assert other != url
    assert "read 1048576/1048576" in qemu_io(other, "read -P 0x5a 0 1M")
    _attachments(env).delete(f"/attachments/{again['id']}", 200)
    env.wait(vol["id"], "available")
    env.demo.delete(f"/volumes/{vol['id']}", 202)


def test_a_moving_server_connects_from_a_second_host(env: Env) -> None:
    """A live migration's destination connects a volume the source still has: a second
    attachment of the server from another host is exported beside the first (the same
    data), a second connection from a host already connected is refused (upstream's
    "duplicate connectors", 409)."""
    api = _attachments(env)
    vol = env.create(name="moving")
    server = str(uuid.uuid4())
    source = _create(api, vol["id"], server, connector=connector("host-a"))
    api.post(f"/attachments/{source['id']}/action", {"os-complete": None}, 204)
    qemu_io(nbd_url(source["connection_info"]), "write -P 0x3c 0 64k")
    dest = _create(api, vol["id"], server)
    reply = api.put(
        f"/attachments/{dest['id']}", {"attachment": {"connector": connector("host-b")}}
    )
    moved = reply.json()["attachment"]
    assert "read 65536/65536" in qemu_io(nbd_url(moved["connection_info"]), "read -P 0x3c 0 64k")
    api.post(f"/attachments/{dest['id']}/action", {"os-complete": None}, 204)
    third = _create(api, vol["id"], server)
    body = {"attachment": {"connector": connector("host-a")}}
    reply = api.put(f"/attachments/{third['id']}", body, 409)
    assert "duplicate connectors detected" in reply.text
    for attachment in (third, source, dest):
        api.delete(f"/attachments/{attachment['id']}", 200)
    env.wait(vol["id"], "available")
    env.demo.delete(f"/volumes/{vol['id']}", 202)


def test_the_storage_host_opens_the_file(env: Env) -> None:
    vol = env.create()
    att = _create(
        _attachments(env), vol["id"], str(uuid.uuid4()), connector=connector(STORAGE_HOST)
    )
    info = att["connection_info"]
    assert info["driver_volume_type"] == "file"
    assert info["path"] == str(env.volume_file(vol["id"])) and info["format"] == "qcow2"
    _attachments(env).post(f"/attachments/{att['id']}/action", {"os-complete": None}, 204)
    assert env.wait(vol["id"], "in-use")["attachments"][0]["attachment_id"] == att["id"]
    _attachments(env).delete(f"/attachments/{att['id']}", 200)
    env.wait(vol["id"], "available")


def _usage(env: Env) -> int:
    """The demo project's gigabytes in use."""
    project = env.project_id()
    quota = env.admin.get(f"/os-quota-sets/{project}?usage=true").json()["quota_set"]
    return int(quota["gigabytes"]["in_use"])


def _hold(path: Path) -> subprocess.Popen[bytes]:
    """A QEMU process (qemu-io) holding the file's image lock, as a guest's QEMU would.
    Its locks are looked for in ``/proc/locks``: probing with ``qemu-img info`` takes a
    lock of its own, and a probe that overlapped qemu-io's open made qemu-io fail ("Failed
    to get write lock", CI)."""
    inode = f":{path.stat().st_ino} "
    deadline = time.monotonic() + 30
    while True:
        held = subprocess.Popen(
            ["qemu-io", "-f", "qcow2", str(path)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
        )
        while held.poll() is None:
            locks = Path("/proc/locks").read_text().splitlines()
            if any("OFDLCK" in line and inode in line for line in locks):
                return held
            assert time.monotonic() < deadline, "qemu-io did not lock the volume"
            time.sleep(0.05)
        assert time.monotonic() < deadline, f"qemu-io exited {held.returncode}"


def test_extend_waits_for_the_guest(env: Env) -> None:
    """A file a local QEMU holds only that QEMU can grow: with no compute to tell, the
    extend rolls back at once (error_extending, size and quota as before); a volume left
    waiting (``extend_new_size``) settles by ``os-extend_volume_completion`` (3.71)."""
    vol = env.create()
    vid = vol["id"]
    server = str(uuid.uuid4())
    att = _create(_attachments(env), vid, server, connector=connector(STORAGE_HOST))
    _attachments(env).post(f"/attachments/{att['id']}/action", {"os-complete": None}, 204)
    env.wait(vid, "in-use")
    action = f"/volumes/{vid}/action"
    used = _usage(env)
    held = _hold(env.volume_file(vid))
    try:
        env.demo.at("3.42").post(action, {"os-extend": {"new_size": 2}}, 202)
        failed = env.wait(vid, "error_extending")
    finally:
        held.terminate()
        held.wait(timeout=10)
    assert failed["size"] == 1 and "extend_new_size" not in failed["metadata"]
    assert _usage(env) == used
    assert [m["event_id"] for m in env.messages(vid)] == ["VOLUME_VOLUME_007_010"]

    complete = {"os-extend_volume_completion": {"error": False}}
    env.admin.at("3.70").post(action, complete, 404)
    err = env.admin.at("3.71").post(action, complete, 400).json()
    assert err["badRequest"]["message"] == "Invalid volume: Volume is not being extended."
    env.demo.at("3.71").post(action, complete, 403)
    bad = {"os-extend_volume_completion": {"error": False, "size": 3}}
    env.admin.at("3.71").post(action, bad, 400)

    # the state the manager leaves for compute (written here: this cloud has no compute)
    def waiting(new_size: int) -> None:
        env.admin.post(action, {"os-reset_status": {"status": "extending"}}, 202)
        db = sqlite3.connect(env.cloud.state_dir / "volume.sqlite")
        with db:
            db.executemany(
                "INSERT OR REPLACE INTO volume_admin_metadata (volume_id, key, value)"
                " VALUES (?, ?, ?)",
                [(vid, "extend_new_size", str(new_size)), (vid, "extend_reservations", "[]")],
            )
        db.close()

    waiting(3)
    assert env.demo.get(f"/volumes/{vid}").json()["volume"]["metadata"]["extend_new_size"] == "3"
    env.admin.at("3.71").post(action, {"os-extend_volume_completion": {"error": True}}, 202)
    assert env.wait(vid, "error_extending")["size"] == 1
    waiting(3)
    env.admin.at("3.71").post(action, {"os-extend_volume_completion": {}}, 202)
    grown = env.wait(vid, "in-use")
    assert grown["size"] == 3 and "extend_new_size" not in grown["metadata"]
    _attachments(env).delete(f"/attachments/{att['id']}", 200)
    env.wait(vid, "available")
    env.demo.delete(f"/volumes/{vid}", 202)  # the module's project has room for 10
    env.wait(vid, "deleted")


def test_osc_lists_and_shows_attachments(env: Env) -> None:
    vol = env.create()
    att = _create(_attachments(env), vol["id"], str(uuid.uuid4()))
    listed = env.cloud.osc(
        "--os-volume-api-version", "3.27", "volume", "attachment", "list", cloud="tinystack-demo"
    )
    assert att["id"] in [row["ID"] for row in listed]
    shown = env.cloud.osc(
        "--os-volume-api-version",
        "3.27",
        "volume",
        "attachment",
        "show",
        att["id"],
        cloud="tinystack-demo",
    )
    assert shown["Status"] == "reserved" and shown["Volume ID"] == vol["id"]
    env.cloud.osc(
        "--os-volume-api-version",
        "3.27",
        "volume",
        "attachment",
        "delete",
        att["id"],
        cloud="tinystack-demo",
    )
    env.wait(vol["id"], "available")


def test_multiattach(env: Env) -> None:
    vtype = env.admin.post(
        "/types",
        {
            "volume_type": {
                "name": "multi-" + uuid.uuid4().hex[:6],
                "extra_specs": {"multiattach": "<is> True"},
            }
        },
        200,
    ).json()["volume_type"]
    vol = env.create(volume_type=vtype["name"])
    assert vol["multiattach"] is True
    assert (env.volumes_dir / f"volume-{vol['id']}.raw").exists()  # shareable by QEMUs
    api = _attachments(env)
    first = _create(api, vol["id"], str(uuid.uuid4()), connector=connector("host-a"))
    api.post(f"/attachments/{first['id']}/action", {"os-complete": {}}, 204)
    second = _create(api, vol["id"], str(uuid.uuid4()), connector=connector("host-b"))
    api.post(f"/attachments/{second['id']}/action", {"os-complete": {}}, 204)
    a, b = nbd_url(first["connection_info"]), nbd_url(second["connection_info"])
    qemu_io(a, "write -P 0x11 0 64k")
    assert "read 65536/65536" in qemu_io(b, "read -P 0x11 0 64k")
    volume = env.wait(vol["id"], "in-use")
    assert {x["attachment_id"] for x in volume["attachments"]} == {first["id"], second["id"]}
    remaining = api.delete(f"/attachments/{first['id']}", 200).json()["attachments"]
    assert [r["id"] for r in remaining] == [second["id"]]
    assert env.wait(vol["id"], "in-use") and not exported(a) and exported(b)
    api.delete(f"/attachments/{second['id']}", 200)
    env.wait(vol["id"], "available")


def test_mode_and_front_end_qos(env: Env) -> None:
    qos = env.admin.post(
        "/qos-specs",
        {
            "qos_specs": {
                "name": "fe-" + uuid.uuid4().hex[:6],
                "consumer": "front-end",
                "total_iops_sec": "500",
                "read_bytes_sec_per_gb": "1000",
            }
        },
        200,
    ).json()["qos_specs"]
    vtype = env.admin.post(
        "/types", {"volume_type": {"name": "qos-" + uuid.uuid4().hex[:6]}}, 200
    ).json()["volume_type"]
    env.admin.get(f"/qos-specs/{qos['id']}/associate", 202, params={"vol_type_id": vtype["id"]})
    vol = env.create(volume_type=vtype["name"], size=2)
    att = _create(_attachments(env), vol["id"], str(uuid.uuid4()), mode="ro", connector=connector())
    info = att["connection_info"]
    assert info["access_mode"] == "ro" and att["attach_mode"] == "ro"
    assert info["qos_specs"] == {"total_iops_sec": "500", "read_bytes_sec": "2000"}
    _attachments(env).delete(f"/attachments/{att['id']}", 200)
    env.wait(vol["id"], "available")


def test_legacy_actions(env: Env) -> None:
    vol = env.create()
    act = f"/volumes/{vol['id']}/action"
    api = env.demo
    api.post(act, {"os-reserve": {}}, 202)
    assert env.wait(vol["id"], "attaching")
    again = api.post(act, {"os-reserve": {}}, 400).json()
    assert again == {
        "badRequest": {
            "code": 400,
            "message": "Invalid volume: Volume status "
            "must be available to reserve, but the status is attaching.",
        }
    }
    info = api.post(act, {"os-initialize_connection": {"connector": connector()}}, 200).json()
    conn = info["connection_info"]
    assert conn["driver_volume_type"] == "nbd" and conn["data"]["access_mode"] == "rw"
    url = nbd_url(conn)
    qemu_io(url, "write -P 0x33 0 4k")
    server = str(uuid.uuid4())
    api.post(act, {"os-attach": {"instance_uuid": server, "mountpoint": "/dev/vdc"}}, 202)
    volume = env.wait(vol["id"], "in-use")
    (shown,) = volume["attachments"]
    assert shown["server_id"] == server and shown["device"] == "/dev/vdc"
    assert exported(url)  # os-attach took over the connection's attachment
    attached = api.post(
        act, {"os-attach": {"instance_uuid": str(uuid.uuid4()), "mountpoint": "/dev/vdd"}}, 400
    ).json()
    assert attached["badRequest"]["message"] == (
        "Error attaching volume - InvalidVolume: Invalid volume: volume is already attached "
        "and multiple attachments are not enabled"
    )
    api.post(act, {"os-begin_detaching": {}}, 202)
    env.wait(vol["id"], "detaching")
    api.post(act, {"os-roll_detaching": {}}, 202)
    env.wait(vol["id"], "in-use")
    api.post(act, {"os-begin_detaching": {}}, 202)
    api.post(act, {"os-terminate_connection": {"connector": connector()}}, 202)
    assert not exported(url)
    assert env.wait(vol["id"], "detaching")
    api.post(act, {"os-detach": {"attachment_id": shown["attachment_id"]}}, 202)
    assert env.wait(vol["id"], "available")["attachments"] == []
    bad = api.post(act, {"os-begin_detaching": {}}, 400).json()["badRequest"]["message"]
    assert bad == (
        "Invalid volume: Unable to detach volume. Volume status must be 'in-use' "
        "and attach_status must be 'attached' to detach."
    )
    # reserve and give up: the volume is available again
    api.post(act, {"os-reserve": None}, 202)
    api.post(act, {"os-unreserve": None}, 202)
    env.wait(vol["id"], "available")


def test_os_attach_by_host_and_force_detach(env: Env) -> None:
    vol = env.create()
    act = f"/volumes/{vol['id']}/action"
    env.demo.post(
        act,
        {"os-attach": {"host_name": "baremetal-1", "mountpoint": "/dev/sdb", "mode": "ro"}},
        202,
    )
    attachment = env.wait(vol["id"], "in-use")["attachments"][0]
    assert attachment["server_id"] is None
    env.admin.post(act, {"os-reset_status": {"status": "error"}}, 202)
    env.demo.post(act, {"os-force_detach": {}}, 403)
    env.admin.post(
        act,
        {"os-force_detach": {"connector": None, "attachment_id": attachment["attachment_id"]}},
        202,
    )
    assert env.wait(vol["id"], "available")["attachments"] == []


def test_reset_status_detached_removes_attachments_and_exports(env: Env) -> None:
    vol = env.create()
    att = _create(_attachments(env), vol["id"], str(uuid.uuid4()), connector=connector())
    url = nbd_url(att["connection_info"])
    assert exported(url)
    act = f"/volumes/{vol['id']}/action"
    env.admin.post(
        act, {"os-reset_status": {"status": "available", "attach_status": "detached"}}, 202
    )
    assert env.wait(vol["id"], "available")["attachments"] == []
    assert not exported(url)
    _attachments(env).get(f"/attachments/{att['id']}", 404)
    nothing = env.admin.post(act, {"os-reset_status": {"status": "in-use"}}, 400).json()
    assert nothing["badRequest"]["message"] == (
        "Cannot reset-state to in-use because volume does not have any attachments."
    )


def test_bad_input(env: Env) -> None:
    api = _attachments(env)
    vol = env.create()
    server = str(uuid.uuid4())
    att = _create(api, vol["id"], server, connector=connector())
    api.post(f"/attachments/{att['id']}/action", {"os-complete": None}, 204)
    # a second attachment of an attached volume that is not multiattach
    refused = api.post(
        "/attachments",
        {"attachment": {"volume_uuid": vol["id"], "instance_uuid": str(uuid.uuid4())}},
        400,
    ).json()
    assert refused["badRequest"]["message"] == (
        f"Invalid volume: Volume {vol['id']} status must be available or downloading to "
        "reserve, but the current status is in-use."
    )
    # delete of an in-use volume
    env.demo.delete(f"/volumes/{vol['id']}", 400)
    # unknown attachments
    unknown = str(uuid.uuid4())
    gone = api.delete(f"/attachments/{unknown}", 404).json()
    assert gone["itemNotFound"]["message"] == (
        f"Volume attachment could not be found with filter: attachment_id = {unknown}."
    )
    api.put(f"/attachments/{unknown}", {"attachment": {"connector": connector()}}, 404)
    act = f"/volumes/{vol['id']}/action"
    conflict = env.demo.post(act, {"os-detach": {"attachment_id": unknown}}, 409).json()
    assert conflict["conflictingRequest"]["message"].startswith("Detach volume from instance")
    env.demo.post(f"/volumes/{uuid.uuid4()}/action", {"os-reserve": {}}, 404)
    # bodies
    api.post("/attachments", {"attachment": {"volume_uuid": "nope"}}, 400)
    api.post("/attachments", {"attachment": {"instance_uuid": server}}, 400)
    api.post("/attachments", {"attachment": {"volume_uuid": vol["id"], "bogus": 1}}, 400)
    api.post("/attachments", {"attachment": {"volume_uuid": vol["id"], "mode": "rx"}}, 400)
    mode = (
        env.demo.at("3.50")
        .post("/attachments", {"attachment": {"volume_uuid": vol["id"], "mode": "ro"}}, 400)
        .json()
    )
    assert "'mode' was unexpected" in mode["badRequest"]["message"]
    api.put(f"/attachments/{att['id']}", {"attachment": {}}, 400)
    api.put(f"/attachments/{att['id']}", {"attachment": {"connector": {}}}, 400)
    api.post(f"/attachments/{att['id']}/action", {"os-bogus": None}, 400)
    env.demo.at("3.26").get("/attachments", 404)
    env.demo.at("3.43").post(f"/attachments/{att['id']}/action", {"os-complete": None}, 404)
    env.demo.post(act, {"os-attach": {"mountpoint": "/dev/vdb"}}, 400)
    env.demo.post(act, {"os-initialize_connection": {"connector": {"ip": "1.2.3.4"}}}, 400)
    # another project neither sees nor touches the attachment; an admin sees every one
    stranger = Api(env.cloud.endpoint("block-storage"), _other_project_token(env), "3.54")
    stranger.get(f"/attachments/{att['id']}", 404)
    stranger.delete(f"/attachments/{att['id']}", 404)
    assert stranger.get("/attachments").json() == {"attachments": []}
    env.admin.at("3.54").get(f"/attachments/{att['id']}")
    everyone = env.admin.at("3.54").get("/attachments", params={"all_tenants": "1"}).json()
    assert att["id"] in [a["id"] for a in everyone["attachments"]]
    api.delete(f"/attachments/{att['id']}", 200)
    env.wait(vol["id"], "available")


def test_racing_reservations_of_one_volume(env: Env) -> None:
    vol = env.create()
    api = _attachments(env)

    def reserve(_: int) -> int:
        body = {"volume_uuid": vol["id"], "instance_uuid": str(uuid.uuid4())}
        return int(api.post("/attachments", {"attachment": body}).status_code)

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(reserve, range(8)))
    assert sorted(codes) == [200] + [400] * 7
    (att,) = api.get("/attachments", params={"volume_id": vol["id"]}).json()["attachments"]
    api.delete(f"/attachments/{att['id']}", 200)
    env.wait(vol["id"], "available")


def test_os_detach_removes_a_live_export(env: Env) -> None:
    vol = env.create()
    att = _create(_attachments(env), vol["id"], str(uuid.uuid4()), connector=connector())
    _attachments(env).post(f"/attachments/{att['id']}/action", {"os-complete": None}, 204)
    url = nbd_url(att["connection_info"])
    assert exported(url)
    act = f"/volumes/{vol['id']}/action"
    env.demo.post(act, {"os-detach": {"attachment_id": att["id"]}}, 202)
    assert env.wait(vol["id"], "available")["attachments"] == []
    assert not exported(url)
