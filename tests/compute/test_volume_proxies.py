"""The compute API's volume proxies (2.1-2.35, ``os-volumes`` and ``os-snapshots``) against
a real block storage service."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.cloudproc import free_port
from tests.compute.conftest import SERVICES, Api, Env, MakeEnv

UNKNOWN = "6fa2f5a4-9bcd-4e3c-8a5d-0f61f8f2a8c1"


@pytest.fixture(scope="module")
def vol_env(make_env: MakeEnv) -> Env:
    conf = f"[volume]\nreport_interval = 1\nfile_capacity_gb = 100\nnbd_port = {free_port()}\n"
    return make_env(conf, [*SERVICES, "volume"])


def _wait(api: Api, path: str, key: str, status: str = "available") -> dict[str, Any]:
    deadline = time.monotonic() + 60
    found: dict[str, Any] = {}
    while time.monotonic() < deadline:
        found = api.get(path).json()[key]
        if found["status"] == status:
            return found
        assert found["status"] != "error", found
        time.sleep(0.1)
    raise AssertionError(f"{path} is {found.get('status')}, wanted {status}")


def _gone(api: Api, path: str) -> None:
    deadline = time.monotonic() + 60
    while api.get(path, None).status_code != 404:
        assert time.monotonic() < deadline, f"{path} is still there"
        time.sleep(0.1)


def test_volumes_through_compute(vol_env: Env) -> None:
    demo = vol_env.demo.at("2.1")
    made = demo.post(
        "/os-volumes",
        {"volume": {"size": "1", "display_name": "v1", "metadata": {"Type": "work"}}},
        200,
    )
    volume = made.json()["volume"]
    assert made.headers["Location"].endswith(f"/os-volumes/{volume['id']}")
    assert volume["displayName"] == "v1" and volume["size"] == 1
    assert volume["metadata"] == {"Type": "work"} and volume["attachments"] == [{}]
    assert volume["availabilityZone"] == "nova" and volume["createdAt"]
    assert volume["snapshotId"] is None and volume["displayDescription"] is None
    shown = _wait(demo, f"/os-volumes/{volume['id']}", "volume")
    # the same view everywhere: show, list and detail
    for path in ("/os-volumes", "/os-volumes/detail"):
        assert shown in demo.get(path).json()["volumes"]
    other = demo.post("/os-volumes", {"volume": {"size": 1, "display_description": "d"}}, 200)
    second = other.json()["volume"]
    assert second["displayName"] is None and second["displayDescription"] == "d"
    _wait(demo, f"/os-volumes/{second['id']}", "volume")
    everything = [v["id"] for v in demo.get("/os-volumes").json()["volumes"]]
    assert set(everything) == {volume["id"], second["id"]}
    for path in ("/os-volumes", "/os-volumes/detail"):
        page = demo.get(f"{path}?offset=1&limit=1").json()["volumes"]
        assert [v["id"] for v in page] == everything[1:2]
        assert len(demo.get(f"{path}?limit=1").json()["volumes"]) == 1
        assert demo.get(f"{path}?limit=x", 400).json()["badRequest"]["message"]
        demo.get(f"{path}?offset=-1", 400)
    # the admin does not see the demo project's volumes through its own project
    assert volume["id"] not in {
        v["id"] for v in vol_env.compute.at("2.1").get("/os-volumes").json()["volumes"]
    }
    demo.delete(f"/os-volumes/{second['id']}", 202)
    _gone(demo, f"/os-volumes/{second['id']}")
    demo.delete(f"/os-volumes/{second['id']}", 404)


def test_snapshots_and_volumes_from_them(vol_env: Env) -> None:
    demo = vol_env.demo.at("2.1")
    volume = demo.post("/os-volumes", {"volume": {"size": 1}}, 200).json()["volume"]
    _wait(demo, f"/os-volumes/{volume['id']}", "volume")
    made = demo.post(
        "/os-snapshots",
        {"snapshot": {"volume_id": volume["id"], "display_name": "s1", "force": "false"}},
        200,
    ).json()["snapshot"]
    assert made["volumeId"] == volume["id"] and made["displayName"] == "s1"
    assert made["size"] == 1 and made["displayDescription"] is None and made["createdAt"]
    snapshot = _wait(demo, f"/os-snapshots/{made['id']}", "snapshot")
    for path in ("/os-snapshots", "/os-snapshots/detail"):
        assert snapshot in demo.get(path).json()["snapshots"]
    # a volume from the snapshot takes its size when none is given
    clone = demo.post("/os-volumes", {"volume": {"snapshot_id": snapshot["id"]}}, 200)
    cloned = clone.json()["volume"]
    assert cloned["snapshotId"] == snapshot["id"] and cloned["size"] == 1
    _wait(demo, f"/os-volumes/{cloned['id']}", "volume")
    demo.post("/os-volumes", {"volume": {"size": 1, "snapshot_id": UNKNOWN}}, 404)
    # a volume with a snapshot cannot go; bad input is 400 and unknown ids 404
    assert demo.delete(f"/os-volumes/{volume['id']}").status_code == 400
    bad_snapshots: list[dict[str, Any]] = [
        {},
        {"snapshot": {}},
        {"snapshot": {"volume_id": volume["id"], "bogus": 1}},
        {"snapshot": {"volume_id": volume["id"], "force": "maybe"}},
        {"snapshot": {"volume_id": volume["id"]}, "extra": 1},
    ]
    for bad in bad_snapshots:
        demo.post("/os-snapshots", bad, 400)
    demo.post("/os-snapshots", {"snapshot": {"volume_id": UNKNOWN}}, 404)
    assert [s["id"] for s in demo.get("/os-snapshots").json()["snapshots"]] == [snapshot["id"]]
    demo.get(f"/os-snapshots/{UNKNOWN}", 404)
    demo.delete(f"/os-snapshots/{UNKNOWN}", 404)
    demo.delete(f"/os-volumes/{cloned['id']}", 202)
    demo.delete(f"/os-snapshots/{snapshot['id']}", 202)
    _gone(demo, f"/os-snapshots/{snapshot['id']}")
    demo.delete(f"/os-volumes/{volume['id']}", 202)
    _gone(demo, f"/os-volumes/{volume['id']}")


def test_bad_volume_requests(vol_env: Env) -> None:
    demo = vol_env.demo.at("2.1")
    before = demo.get("/os-volumes").json()["volumes"]
    for bad in (
        {"size": "#$%"},
        {"size": ""},
        {"size": "0"},
        {"size": 0},
        {"size": -1},
        {"size": True},
        {},
        {"size": 1, "imageRef": UNKNOWN},
        {"size": 1, "display_name": 5},
        {"size": 1, "metadata": "x"},
    ):
        response = demo.post("/os-volumes", {"volume": bad})
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["badRequest"]["message"]
    demo.post("/os-volumes", {"volume": {"size": 1}, "extra": 1}, 400)
    demo.post("/os-volumes", {"size": 1}, 400)
    demo.post("/os-volumes", {"volume": {"size": 1, "volume_type": "no-such-type"}}, 404)
    assert demo.get("/os-volumes").json()["volumes"] == before  # nothing half made
    demo.get(f"/os-volumes/{UNKNOWN}", 404)
    demo.get("/os-volumes/not-a-uuid", 404)
    demo.get("/os-volumes/", 404)
    demo.delete(f"/os-volumes/{UNKNOWN}", 404)
    demo.delete("/os-volumes/invalid-id", 404)
    demo.delete("/os-volumes/", 404)


def test_gone_from_2_36(vol_env: Env) -> None:
    demo = vol_env.demo.at("2.36")
    for path in ("/os-volumes", "/os-volumes/detail", f"/os-volumes/{UNKNOWN}"):
        demo.get(path, 404)
    for path in ("/os-snapshots", "/os-snapshots/detail", f"/os-snapshots/{UNKNOWN}"):
        demo.get(path, 404)
    demo.post("/os-volumes", {"volume": {"size": 1}}, 404)
    demo.post("/os-snapshots", {"snapshot": {"volume_id": UNKNOWN}}, 404)
    demo.delete(f"/os-volumes/{UNKNOWN}", 404)
    demo.delete(f"/os-snapshots/{UNKNOWN}", 404)
    assert demo.get("/os-volumes", None).json()["itemNotFound"]["code"] == 404
    # still there at 2.35
    vol_env.demo.at("2.35").get("/os-volumes", 200)


def test_attached_volume_view(vol_env: Env) -> None:
    demo = vol_env.demo.at("2.1")
    server = vol_env.boot(vol_env.demo)
    volume = demo.post("/os-volumes", {"volume": {"size": 1}}, 200).json()["volume"]
    _wait(demo, f"/os-volumes/{volume['id']}", "volume")
    attach = f"/servers/{server['id']}/os-volume_attachments"
    demo.post(attach, {"volumeAttachment": {"volumeId": volume["id"]}}, 200)
    shown = _wait(demo, f"/os-volumes/{volume['id']}", "volume", "in-use")
    assert shown["attachments"] == [
        {
            "id": volume["id"],
            "volumeId": volume["id"],
            "serverId": server["id"],
            "device": "/dev/vdb",
        }
    ]
    assert demo.delete(f"/os-volumes/{volume['id']}").status_code == 400
    in_use = {"snapshot": {"volume_id": volume["id"]}}
    assert demo.post("/os-snapshots", in_use).status_code == 400
    forced = demo.post("/os-snapshots", {"snapshot": {**in_use["snapshot"], "force": True}}, 200)
    snapshot = forced.json()["snapshot"]
    _wait(demo, f"/os-snapshots/{snapshot['id']}", "snapshot")
    demo.delete(f"/os-snapshots/{snapshot['id']}", 202)
    _gone(demo, f"/os-snapshots/{snapshot['id']}")
    demo.delete(f"{attach}/{volume['id']}", 202)
    _wait(demo, f"/os-volumes/{volume['id']}", "volume")
    demo.delete(f"/os-volumes/{volume['id']}", 202)
