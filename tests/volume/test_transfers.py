"""Volume transfers against a real cloud: the legacy and the 3.55+ APIs, accepting as
another project (the volume, its snapshots and their quota usage move), wrong keys,
taking an offer back, and the real ``openstack volume transfer request`` CLI."""

from __future__ import annotations

import subprocess
import uuid
from typing import Any

import pytest

from tests.volume.conftest import Env, MakeEnv
from tests.volume.resources import file_conf, snapshot


@pytest.fixture(scope="module")
def env(make_env: MakeEnv) -> Env:
    return make_env(file_conf())


def usage(env: Env, project: str) -> dict[str, int]:
    sets = env.admin.get(f"/os-quota-sets/{project}", params={"usage": "true"}).json()
    return {k: int(v["in_use"]) for k, v in sets["quota_set"].items() if isinstance(v, dict)}


def test_transfer_with_snapshots_moves_volume_and_quota(env: Env) -> None:
    demo, admin = env.project_id(), env.project_id("tinystack-admin")
    vol = env.create(size=2)
    snap = snapshot(env.demo, vol["id"])
    donor_before, taker_before = usage(env, demo), usage(env, admin)
    made = env.demo.post(
        "/volume-transfers", {"transfer": {"volume_id": vol["id"], "name": " t1 "}}, 202
    )
    transfer = made.json()["transfer"]
    assert transfer["name"] == "t1" and len(transfer["auth_key"]) == 16
    assert transfer["no_snapshots"] is False and transfer["source_project_id"] == demo
    assert env.wait(vol["id"], "awaiting-transfer")
    shown = env.demo.get(f"/volume-transfers/{transfer['id']}").json()["transfer"]
    assert "auth_key" not in shown and shown["accepted"] is False
    # the offer is the donor's: the admin's own list does not show it, all_tenants does
    assert transfer["id"] in [
        t["id"] for t in env.demo.get("/volume-transfers").json()["transfers"]
    ]
    mine = env.admin.get("/volume-transfers/detail").json()["transfers"]
    assert transfer["id"] not in [t["id"] for t in mine]
    every = env.admin.get("/volume-transfers", params={"all_tenants": "1"}).json()["transfers"]
    assert transfer["id"] in [t["id"] for t in every]
    # a wrong key is refused and nothing moves
    accept = f"/volume-transfers/{transfer['id']}/accept"
    r = env.admin.post(accept, {"accept": {"auth_key": "0" * 16}}, 400)
    assert "Invalid auth key" in r.json()["badRequest"]["message"]
    assert usage(env, admin) == taker_before
    done = env.admin.post(accept, {"accept": {"auth_key": transfer["auth_key"]}}, 202).json()
    assert done["transfer"]["volume_id"] == vol["id"]
    moved = env.admin.get(f"/volumes/{vol['id']}").json()["volume"]
    assert moved["status"] == "available" and moved["os-vol-tenant-attr:tenant_id"] == admin
    env.demo.get(f"/volumes/{vol['id']}", 404)
    snap_now = env.admin.get(f"/snapshots/{snap['id']}").json()["snapshot"]
    assert snap_now["os-extended-snapshot-attributes:project_id"] == admin
    donor, taker = usage(env, demo), usage(env, admin)
    assert donor["volumes"] == donor_before["volumes"] - 1
    assert donor["gigabytes"] == donor_before["gigabytes"] - 4  # the volume and its snapshot
    assert donor["snapshots"] == donor_before["snapshots"] - 1
    assert taker["volumes"] == taker_before["volumes"] + 1
    assert taker["gigabytes"] == taker_before["gigabytes"] + 4
    assert taker["snapshots"] == taker_before["snapshots"] + 1
    env.demo.get(f"/volume-transfers/{transfer['id']}", 404)
    env.admin.post(accept, {"accept": {"auth_key": transfer["auth_key"]}}, 404)


def test_no_snapshots_and_legacy_api(env: Env) -> None:
    vol = env.create()
    snap = snapshot(env.demo, vol["id"])
    body = {"transfer": {"volume_id": vol["id"], "no_snapshots": True}}
    env.demo.at("3.54").post("/volume-transfers", body, 400)
    made = env.demo.post("/volume-transfers", body, 202).json()["transfer"]
    assert made["no_snapshots"] is True
    env.admin.post(
        f"/volume-transfers/{made['id']}/accept", {"accept": {"auth_key": made["auth_key"]}}, 202
    )
    # the snapshot stayed with the donor
    assert env.demo.get(f"/snapshots/{snap['id']}").json()["snapshot"]["volume_id"] == vol["id"]

    vol = env.create()
    legacy = env.demo.post("/os-volume-transfer", {"transfer": {"volume_id": vol["id"]}}, 202)
    offer = legacy.json()["transfer"]
    assert "no_snapshots" in offer  # latest version renders it
    old = env.demo.at("3.0").get(f"/os-volume-transfer/{offer['id']}").json()["transfer"]
    assert set(old) == {"id", "created_at", "name", "volume_id", "links"}
    assert "/os-volume-transfer/" in old["links"][0]["href"]
    summary = env.demo.get("/os-volume-transfer").json()["transfers"]
    assert set(summary[0]) == {"id", "volume_id", "name", "links"}
    env.demo.post(
        "/os-volume-transfer", {"transfer": {"volume_id": vol["id"], "no_snapshots": True}}, 400
    )
    # a second offer of the same volume: it is no longer available
    env.demo.post("/os-volume-transfer", {"transfer": {"volume_id": vol["id"]}}, 400)
    env.demo.delete(f"/os-volume-transfer/{offer['id']}", 202)
    assert env.wait(vol["id"], "available")
    env.demo.delete(f"/os-volume-transfer/{offer['id']}", 404)


def test_bad_input_and_rules(env: Env) -> None:
    vol = env.create()
    env.demo.post("/volume-transfers", {"transfer": {"volume_id": str(uuid.uuid4())}}, 404)
    env.demo.post("/volume-transfers", {"transfer": {"volume_id": "x"}}, 400)
    env.demo.post("/volume-transfers", {"transfer": {}}, 400)
    env.demo.post("/volume-transfers", {"transfer": {"volume_id": vol["id"], "x": 1}}, 400)
    env.demo.post(f"/volume-transfers/{uuid.uuid4()}/accept", {"accept": {"auth_key": "k"}}, 404)
    made = env.demo.post("/volume-transfers", {"transfer": {"volume_id": vol["id"]}}, 202)
    offer = made.json()["transfer"]
    env.demo.post(f"/volume-transfers/{offer['id']}/accept", {"accept": {}}, 400)
    # the offered volume cannot be deleted, snapshotted or offered again
    env.demo.delete(f"/volumes/{vol['id']}", 400)
    env.demo.post("/snapshots", {"snapshot": {"volume_id": vol["id"]}}, 400)
    env.demo.delete(f"/volume-transfers/{offer['id']}", 202)
    # a snapshot not available blocks an offer with snapshots
    snap = snapshot(env.demo, vol["id"])
    env.admin.post(f"/snapshots/{snap['id']}/action", {"os-reset_status": {"status": "error"}}, 202)
    r = env.demo.post("/volume-transfers", {"transfer": {"volume_id": vol["id"]}}, 400)
    assert "must be available" in r.json()["badRequest"]["message"]
    env.demo.post(
        "/volume-transfers", {"transfer": {"volume_id": vol["id"], "no_snapshots": True}}, 202
    )


def test_pagination_from_359(env: Env) -> None:
    made = []
    for i in range(3):
        vol = env.create()
        body = {"transfer": {"volume_id": vol["id"], "name": f"pg-{i}"}}
        made.append(env.demo.post("/volume-transfers", body, 202).json()["transfer"])
    ids = [t["id"] for t in made]
    page = env.demo.get(
        "/volume-transfers", params={"limit": 2, "sort": "name:asc", "name~": "pg-"}
    ).json()
    names = [t["name"] for t in page["transfers"]]
    assert names == ["pg-0", "pg-1"]
    rest = env.demo.get(
        "/volume-transfers", params={"sort": "name:asc", "name~": "pg-", "marker": ids[1]}
    ).json()["transfers"]
    assert [t["name"] for t in rest] == ["pg-2"]
    old = env.demo.at("3.58").get("/volume-transfers", params={"limit": 1}).json()["transfers"]
    assert len(old) == 1


def _osc(env: Env, cloud: str, *args: str) -> Any:
    return env.cloud.osc(*args, cloud=cloud)


def test_cli_transfer_request_create_and_accept(env: Env) -> None:
    vol = env.create(name="cli-transfer")
    request = _osc(env, "tinystack-demo", "volume", "transfer", "request", "create",
                   "--name", "cli", vol["id"])  # fmt: skip
    assert request["volume_id"] == vol["id"] and request["auth_key"]
    listed = _osc(env, "tinystack-demo", "volume", "transfer", "request", "list")
    assert request["id"] in [t["ID"] for t in listed]
    with pytest.raises(subprocess.CalledProcessError):
        _osc(env, "tinystack-admin", "volume", "transfer", "request", "accept",
             "--auth-key", "0" * 16, request["id"])  # fmt: skip
    accepted = _osc(env, "tinystack-admin", "volume", "transfer", "request", "accept",
                    "--auth-key", request["auth_key"], request["id"])  # fmt: skip
    assert accepted["volume_id"] == vol["id"]
    shown = _osc(env, "tinystack-admin", "volume", "show", vol["id"])
    assert shown["status"] == "available"
