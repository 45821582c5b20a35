"""Moves between two fake hosts through the API: cold migration and resize (allocations
held by the migration until confirm, given back on revert; an attached volume goes along,
exported for the host the guest runs on), and evacuation (only from a host that is down;
states, migration records, allocations, 400/404/409, NoValidHost)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.cloudproc import free_port
from tests.compute.conftest import SERVICES, Api, Env, MakeEnv

H1, H2 = "fake-compute-1", "fake-compute-2"


@pytest.fixture(scope="module")
def env(make_env: MakeEnv) -> Env:
    # the scheduler sees a host forced down, up, disabled or enabled at once
    return make_env("[compute]\nfake_hosts = 2\nhost_cache_seconds = 0\n")


def _server(env: Env, host: str) -> str:
    return str(env.boot(availability_zone=f"nova:{host}")["id"])


def _host(env: Env, sid: str) -> str:
    return str(env.compute.get(f"/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"])


def _migrations(env: Env, sid: str, kind: str) -> list[dict[str, Any]]:
    found = env.compute.get(f"/os-migrations?instance_uuid={sid}").json()["migrations"]
    return [m for m in found if m["migration_type"] == kind]


def _allocations(env: Env, consumer: str) -> dict[str, Any]:
    allocs = env.placement.get(f"/allocations/{consumer}").json()["allocations"]
    names = {
        rp["uuid"]: rp["name"]
        for rp in env.placement.get("/resource_providers").json()["resource_providers"]
    }
    return {names[rp]: a["resources"] for rp, a in allocs.items()}


def _set_down(env: Env, host: str, down: bool) -> None:
    services = env.compute.get(f"/os-services?host={host}&binary=nova-compute").json()
    sid = services["services"][0]["id"]
    env.compute.put(f"/os-services/{sid}", {"forced_down": down}, 200)


def _set_disabled(env: Env, host: str, disabled: bool) -> None:
    services = env.compute.get(f"/os-services?host={host}&binary=nova-compute").json()
    sid = services["services"][0]["id"]
    env.compute.put(f"/os-services/{sid}", {"status": "disabled" if disabled else "enabled"}, 200)


def test_cold_migrate_holds_source_allocations_until_confirm(env: Env) -> None:
    sid = _server(env, H1)
    env.compute.post(f"/servers/{sid}/action", {"migrate": None}, 202)
    server = env.wait(sid, "VERIFY_RESIZE")
    assert server["OS-EXT-SRV-ATTR:host"] == H2
    [mig] = _migrations(env, sid, "migration")
    assert mig["status"] == "finished"
    assert (mig["source_compute"], mig["dest_compute"]) == (H1, H2)
    # the migration holds the source, the server the destination
    assert list(_allocations(env, mig["uuid"])) == [H1]
    assert list(_allocations(env, sid)) == [H2]
    env.compute.post(f"/servers/{sid}/action", {"confirmResize": None}, 204)
    env.wait(sid, "ACTIVE")
    assert _allocations(env, mig["uuid"]) == {}
    assert list(_allocations(env, sid)) == [H2]
    assert _migrations(env, sid, "migration")[0]["status"] == "confirmed"
    env.compute.delete(f"/servers/{sid}", 204)


def test_resize_across_hosts_reverted_gives_allocations_back(env: Env) -> None:
    sid = _server(env, H1)
    env.compute.post(f"/servers/{sid}/action", {"resize": {"flavorRef": "2"}}, 202)
    server = env.wait(sid, "VERIFY_RESIZE")
    assert server["OS-EXT-SRV-ATTR:host"] == H2
    [mig] = _migrations(env, sid, "resize")
    assert _allocations(env, sid)[H2]["MEMORY_MB"] == 2048
    assert _allocations(env, mig["uuid"])[H1]["MEMORY_MB"] == 512
    env.compute.post(f"/servers/{sid}/action", {"revertResize": None}, 202)
    server = env.wait(sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == H1
    assert server["flavor"]["original_name"] == "m1.tiny"
    assert _allocations(env, sid) == {H1: {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}}
    assert _allocations(env, mig["uuid"]) == {}
    assert _migrations(env, sid, "resize")[0]["status"] == "reverted"
    env.compute.delete(f"/servers/{sid}", 204)


def test_evacuate_refused_while_the_host_is_up_and_for_bad_input(env: Env) -> None:
    sid = _server(env, H1)
    act = f"/servers/{sid}/action"
    r = env.compute.post(act, {"evacuate": {}}, 400)
    assert "is still in use" in r.json()["badRequest"]["message"]
    legacy = env.compute.at("2.13")
    r = legacy.post(act, {"evacuate": {}}, 400)
    assert "onSharedStorage" in r.json()["badRequest"]["message"]
    r = legacy.post(act, {"evacuate": {"onSharedStorage": True, "adminPass": "x"}}, 400)
    assert "existing disk" in r.json()["badRequest"]["message"]
    env.compute.at("2.14").post(act, {"evacuate": {"onSharedStorage": False}}, 400)
    env.compute.at("2.68").post(act, {"evacuate": {"force": True}}, 400)
    env.compute.at("2.28").post(act, {"evacuate": {"force": True}}, 400)
    r = env.compute.post(act, {"evacuate": {"host": "no-such-host"}}, 404)
    assert "Compute host no-such-host not found." in r.text
    r = env.compute.post(act, {"evacuate": {"host": H1}}, 400)
    assert "can't be the same one" in r.text
    env.compute.post(act, {"evacuate": None}, 400)
    server = env.wait(sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == H1
    assert _migrations(env, sid, "evacuation") == []
    env.compute.delete(f"/servers/{sid}", 204)


def test_evacuate_from_a_host_forced_down(env: Env) -> None:
    active, stopped, paused = (_server(env, H1) for _ in range(3))
    env.compute.post(f"/servers/{stopped}/action", {"os-stop": None}, 202)
    env.wait(stopped, "SHUTOFF")
    env.compute.post(f"/servers/{paused}/action", {"pause": None}, 202)
    env.wait(paused, "PAUSED")
    _set_down(env, H1, True)
    try:
        # 2.1: onSharedStorage is required and the password comes back
        r = env.compute.at("2.1").post(
            f"/servers/{active}/action", {"evacuate": {"onSharedStorage": False}}, 200
        )
        assert r.json()["adminPass"]
        r = env.compute.at("2.29").post(
            f"/servers/{stopped}/action", {"evacuate": {"host": H2, "force": True}}, 200
        )
        assert r.content == b""
        r = env.compute.post(f"/servers/{paused}/action", {"evacuate": {}}, 409)
        assert "vm_state paused" in r.json()["conflictingRequest"]["message"]
        for sid, status in ((active, "ACTIVE"), (stopped, "SHUTOFF")):
            server = env.wait(sid, status)
            assert server["OS-EXT-SRV-ATTR:host"] == H2
            [mig] = _migrations(env, sid, "evacuation")
            assert mig["status"] == "done"
            assert (mig["source_compute"], mig["dest_compute"]) == (H1, H2)
            # the dead host's resources stay taken (by the migration) until it cleans up
            assert list(_allocations(env, sid)) == [H2]
            assert list(_allocations(env, mig["uuid"])) == [H1]
            actions = env.compute.get(f"/servers/{sid}/os-instance-actions").json()
            assert actions["instanceActions"][0]["action"] == "evacuate"
    finally:
        _set_down(env, H1, False)
    for sid in (active, stopped, paused):
        env.compute.delete(f"/servers/{sid}", 204)


def test_evacuate_with_no_host_to_go_to_leaves_the_server_alone(env: Env) -> None:
    sid = _server(env, H1)
    _set_disabled(env, H2, True)
    _set_down(env, H1, True)
    try:
        env.compute.at("2.95").post(f"/servers/{sid}/action", {"evacuate": {}}, 200)
        server = env.wait(sid, "ACTIVE")
        assert server["OS-EXT-SRV-ATTR:host"] == H1
        [mig] = _migrations(env, sid, "evacuation")
        assert mig["status"] == "error"
        assert list(_allocations(env, sid)) == [H1]
        assert _allocations(env, mig["uuid"]) == {}
    finally:
        _set_down(env, H1, False)
        _set_disabled(env, H2, False)
    # 2.95: the evacuated server ends stopped
    _set_down(env, H1, True)
    try:
        env.compute.at("2.95").post(f"/servers/{sid}/action", {"evacuate": {}}, 200)
        server = env.wait(sid, "SHUTOFF")
        assert server["OS-EXT-SRV-ATTR:host"] == H2
    finally:
        _set_down(env, H1, False)
    env.compute.delete(f"/servers/{sid}", 204)


def test_evacuate_on_storage_that_is_not_shared_fails(env: Env) -> None:
    sid = _server(env, H1)
    _set_down(env, H1, True)
    try:
        env.compute.at("2.13").post(
            f"/servers/{sid}/action", {"evacuate": {"onSharedStorage": True}}, 200
        )
        server = env.wait(sid, "ERROR")
    finally:
        _set_down(env, H1, False)
    assert "shared storage" in server["fault"]["message"]
    assert _migrations(env, sid, "evacuation")[0]["status"] == "failed"
    env.compute.delete(f"/servers/{sid}", 204)


def test_deleting_a_resized_server_confirms_its_resize(env: Env) -> None:
    sid = _server(env, H1)
    env.compute.post(f"/servers/{sid}/action", {"migrate": None}, 202)
    env.wait(sid, "VERIFY_RESIZE")
    [mig] = _migrations(env, sid, "migration")
    env.compute.delete(f"/servers/{sid}", 204)
    env.wait(sid, "DELETED")
    deadline = time.monotonic() + 10
    while _migrations(env, sid, "migration")[0]["status"] != "confirmed":
        assert time.monotonic() < deadline, _migrations(env, sid, "migration")
        time.sleep(0.05)
    assert _allocations(env, mig["uuid"]) == {}
    assert _allocations(env, sid) == {}


# -- with a volume attached --------------------------------------------------------------------
@pytest.fixture(scope="module")
def vol_env(make_env: MakeEnv) -> Env:
    conf = (
        "[compute]\nfake_hosts = 2\nhost_cache_seconds = 0\n"
        f"[volume]\nreport_interval = 1\nfile_capacity_gb = 100\nnbd_port = {free_port()}\n"
    )
    return make_env(conf, [*SERVICES, "volume"])


def _volume_attachment(env: Env, volume_id: str) -> dict[str, Any]:
    """The volume's one attachment, as the block storage service has it."""
    volume = Api(env.cloud.endpoint("block-storage"), env.admin_token, None)
    volume.http.headers["OpenStack-API-Version"] = "volume 3.44"
    shown = volume.get(f"/volumes/{volume_id}").json()["volume"]
    assert shown["status"] == "in-use", shown
    [attachment] = shown["attachments"]
    return dict(attachment)


def _attached_to(env: Env, sid: str, volume_id: str, host: str) -> str:
    """Check that the server's volume is exported for ``host`` (the attachment the
    server's mapping names, the only one); its attachment id."""
    at = env.compute.at("2.89")
    [mapping] = at.get(f"/servers/{sid}/os-volume_attachments").json()["volumeAttachments"]
    assert mapping["volumeId"] == volume_id
    attachment = _volume_attachment(env, volume_id)
    assert attachment["attachment_id"] == mapping["attachment_id"]
    assert attachment["server_id"] == sid and attachment["host_name"] == host
    return str(mapping["attachment_id"])


def test_moves_take_an_attached_volume_along(vol_env: Env) -> None:
    """A cold migration (confirmed), then a resize (reverted), then back by a cold
    migration (confirmed) of a server with a volume: each time the host the server
    leaves ends its attachment and the one it runs on gets its own, completed."""
    env = vol_env
    sid = _server(env, H1)
    demo = env.compute.at("2.1")
    made = env.compute.at("2.1").post("/os-volumes", {"volume": {"size": 1}}, 200)
    volume_id = str(made.json()["volume"]["id"])
    deadline = time.monotonic() + 60
    while demo.get(f"/os-volumes/{volume_id}").json()["volume"]["status"] != "available":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    env.compute.post(
        f"/servers/{sid}/os-volume_attachments", {"volumeAttachment": {"volumeId": volume_id}}, 200
    )
    deadline = time.monotonic() + 30
    while demo.get(f"/os-volumes/{volume_id}").json()["volume"]["status"] != "in-use":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    first = _attached_to(env, sid, volume_id, H1)

    env.compute.post(f"/servers/{sid}/action", {"migrate": None}, 202)
    assert env.wait(sid, "VERIFY_RESIZE")["OS-EXT-SRV-ATTR:host"] == H2
    moved = _attached_to(env, sid, volume_id, H2)
    assert moved != first
    env.compute.post(f"/servers/{sid}/action", {"confirmResize": None}, 204)
    env.wait(sid, "ACTIVE")
    assert _attached_to(env, sid, volume_id, H2) == moved

    env.compute.post(f"/servers/{sid}/action", {"resize": {"flavorRef": "2"}}, 202)
    assert env.wait(sid, "VERIFY_RESIZE")["OS-EXT-SRV-ATTR:host"] == H1
    resized = _attached_to(env, sid, volume_id, H1)
    env.compute.post(f"/servers/{sid}/action", {"revertResize": None}, 202)
    server = env.wait(sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == H2 and server["flavor"]["original_name"] == "m1.tiny"
    reverted = _attached_to(env, sid, volume_id, H2)
    assert len({first, moved, resized, reverted}) == 4

    env.compute.post(f"/servers/{sid}/action", {"migrate": None}, 202)
    assert env.wait(sid, "VERIFY_RESIZE")["OS-EXT-SRV-ATTR:host"] == H1
    env.compute.post(f"/servers/{sid}/action", {"confirmResize": None}, 204)
    env.wait(sid, "ACTIVE")
    _attached_to(env, sid, volume_id, H1)
    env.compute.delete(f"/servers/{sid}/os-volume_attachments/{volume_id}", 202)
    deadline = time.monotonic() + 30
    while demo.get(f"/os-volumes/{volume_id}").json()["volume"]["status"] != "available":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    env.compute.delete(f"/servers/{sid}", 204)
    demo.delete(f"/os-volumes/{volume_id}", 202)


def _snapshot(volume: Api, snapshot_id: str) -> dict[str, Any]:
    return dict(volume.get(f"/snapshots/{snapshot_id}").json()["snapshot"])


def _wait_snapshot(volume: Api, snapshot_id: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while (shown := _snapshot(volume, snapshot_id))["status"] != status:
        assert time.monotonic() < deadline, shown
        time.sleep(0.1)
    return shown


def test_assisted_volume_snapshots_go_to_the_servers_host(vol_env: Env) -> None:
    """``os-assisted-volume-snapshots`` (what the block storage service calls for file
    volumes): the request goes to the agent of the host the server runs on (the second
    one here), whose driver snapshots the attached volume and reports the snapshot's
    status back to the block storage service; a delete of a snapshot the driver never
    made comes back as ``error_deleting``. A volume attached nowhere is upstream's 400."""
    env = vol_env
    volume = Api(env.cloud.endpoint("block-storage"), env.admin_token, None)
    volume.http.headers["OpenStack-API-Version"] = "volume 3.44"
    vid = volume.post("/volumes", {"volume": {"size": 1}}, 202).json()["volume"]["id"]
    deadline = time.monotonic() + 60
    while volume.get(f"/volumes/{vid}").json()["volume"]["status"] != "available":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    snaps = [
        volume.post("/snapshots", {"snapshot": {"volume_id": vid}}, 202).json()["snapshot"]["id"]
        for _ in range(2)
    ]
    for snap in snaps:
        _wait_snapshot(volume, snap, "available")
    info = {"snapshot_id": snaps[0], "type": "qcow2", "new_file": "overlay.qcow2", "id": "a1"}
    body = {"snapshot": {"volume_id": vid, "create_info": info}}
    refused = env.compute.post("/os-assisted-volume-snapshots", body)
    assert refused.status_code == 400, refused.text
    assert f"No volume Block Device Mapping with id {vid}." in refused.text
    assert env.demo.post("/os-assisted-volume-snapshots", body).status_code == 403
    bad = {"snapshot": {"volume_id": vid, "create_info": {**info, "type": "raw"}}}
    assert env.compute.post("/os-assisted-volume-snapshots", bad).status_code == 400

    sid = _server(env, H2)
    env.compute.post(
        f"/servers/{sid}/os-volume_attachments", {"volumeAttachment": {"volumeId": vid}}, 200
    )
    _attached_to(env, sid, vid, H2)
    for snap in snaps:  # as the service has them while it waits for compute
        volume.post(f"/snapshots/{snap}/action", {"os-reset_status": {"status": "creating"}}, 202)
    made = env.compute.post("/os-assisted-volume-snapshots", body, 200).json()
    assert made == {"snapshot": {"id": "a1", "volumeId": vid}}
    deadline = time.monotonic() + 30
    while _snapshot(volume, snaps[0]).get("os-extended-snapshot-attributes:progress") != "90%":
        assert time.monotonic() < deadline, _snapshot(volume, snaps[0])
        time.sleep(0.1)
    assert _snapshot(volume, snaps[0])["status"] == "creating"

    query = {"delete_info": f'{{"volume_id": "{vid}"}}'}
    assert env.compute.delete(f"/os-assisted-volume-snapshots/{snaps[0]}").status_code == 400
    for snap in snaps:
        volume.post(f"/snapshots/{snap}/action", {"os-reset_status": {"status": "deleting"}}, 202)
    env.compute.delete(f"/os-assisted-volume-snapshots/{snaps[1]}", 204, params=query)
    _wait_snapshot(volume, snaps[1], "error_deleting")  # the driver never had it
    env.compute.delete(f"/os-assisted-volume-snapshots/{snaps[0]}", 204, params=query)
    time.sleep(1)
    assert _snapshot(volume, snaps[0])["status"] == "deleting"  # merged away
    env.compute.delete(f"/os-assisted-volume-snapshots/{snaps[0]}", 204, params=query)
    _wait_snapshot(volume, snaps[0], "error_deleting")  # ... so not there a second time
    env.compute.delete(f"/servers/{sid}", 204)
