"""Restores and migrations across backends through the block storage API: the cloud's
own volume backend is ``file`` (with the ``ceph`` backup driver), a storage host in
another process (``tinystack serve volume``, ``enabled_workers = manager``, over
RabbitMQ) serves the ``ceph`` backend; volume types pick the backend. A backup of an RBD
volume is restored into a file volume and one of a file volume into an RBD volume; a
file volume is retyped (migration policy ``on-demand``) onto RBD, killed -9 mid-copy
and retyped again, then migrated back by the admin (``os-migrate_volume``); the data is
read back from each (qemu-io on the file, librbd on the RBD image). A multiattach volume
on the ceph backend gets two rbd attachments."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.ceph.test_rbd import rbd_images
from tests.ceph.test_rbd_backup import read, write
from tests.ceph.test_rbd_driver import image_features
from tests.ceph_cluster import CephCluster
from tests.cloudproc import CloudProcess
from tests.volume.attach_support import connector
from tests.volume.companion import Companion, companion_conf, vhost
from tests.volume.conftest import SERVICES, Env
from tests.volume.resources import backup, file_conf, kill_daemons, wait_for
from tests.volume.test_snapshots import holds
from tests.volume.test_snapshots import write as write_file

__all__ = ["vhost"]  # the RabbitMQ virtual host fixture
pytestmark = pytest.mark.rabbit
MiB = 1 << 20


def _restore(env: Env, backup_id: str, volume_id: str) -> None:
    body = {"restore": {"volume_id": volume_id}}
    env.demo.post(f"/backups/{backup_id}/restore", body, 202)
    env.wait(volume_id, "available", timeout=120)


def test_restore_and_migrate_between_rbd_and_file(
    ceph_cluster: CephCluster, tmp_path: Path, vhost: str
) -> None:
    extra = f"[DEFAULT]\ntransport_url = {vhost}\n"
    conf = file_conf(
        backend_name="file",
        volume_backend_name="file",
        backup_driver="ceph",
        backup_ceph_conf=ceph_cluster.conf,
        api_settle_seconds=0,
    )
    main = CloudProcess(tmp_path / "main", SERVICES, conf + extra)
    main.start(timeout=180)
    host = None
    try:
        host_conf = companion_conf(
            main, tmp_path / "ceph-host", vhost,
            "enabled_workers = manager", "host = ceph-host", "volume_driver = rbd",
            "backend_name = ceph", "volume_backend_name = ceph",
            f"rbd_ceph_conf = {ceph_cluster.conf}",
        )  # fmt: skip
        host = Companion(host_conf, tmp_path / "ceph-host.log", "cinder-volume", "ceph-host@ceph")
        env = Env(main)
        host.start(env)
        for name in ("ceph", "file"):
            spec = {"name": name, "extra_specs": {"volume_backend_name": name}}
            env.admin.post("/types", {"volume_type": spec}, 200)
        made = _restores(env, ceph_cluster)
        made += _migrations(env, ceph_cluster, host)
        made += _multiattach(env, ceph_cluster)
        for vid in made:
            env.demo.delete(f"/volumes/{vid}", 202)
            wait_for(env.demo, "volumes", vid, "deleted")
        usage = ceph_cluster.pool_usage()
        assert usage == {p: [] for p in usage}
    finally:
        if host is not None:
            host.stop()
        main.stop()
        kill_daemons(main.state_dir)


def _restores(env: Env, ceph_cluster: CephCluster) -> list[str]:
    # RBD -> file
    rbd_vol = env.create(volume_type="ceph", size=1)["id"]
    assert f"volume-{rbd_vol}" in rbd_images(ceph_cluster, "volumes")
    write(ceph_cluster, rbd_vol, 0, bytes([0x6B]) * (4 * MiB))
    of_rbd = backup(env.demo, rbd_vol)
    into_file = env.create(volume_type="file", size=1)["id"]
    _restore(env, of_rbd["id"], into_file)
    assert env.volume_file(into_file).exists()
    assert holds(env, f"volume-{into_file}", 0x6B, length=4 * MiB)

    # file -> RBD
    file_vol = env.create(volume_type="file", size=1)["id"]
    write_file(env, file_vol, 0x5A, length=4 * MiB)
    of_file = backup(env.demo, file_vol)
    into_rbd = env.create(volume_type="ceph", size=1)["id"]
    _restore(env, of_file["id"], into_rbd)
    got = read(ceph_cluster, "volumes", f"volume-{into_rbd}", 0, 4 * MiB + 1)
    assert got == bytes([0x5A]) * (4 * MiB) + b"\0"

    for made in (of_rbd, of_file):
        env.demo.delete(f"/backups/{made['id']}", 202)
        wait_for(env.demo, "backups", made["id"], "deleted")
    return [rbd_vol, into_file, file_vol, into_rbd]


def _admin_view(env: Env, vid: str) -> dict[str, Any]:
    return dict(env.admin.get(f"/volumes/{vid}").json()["volume"])


def _migrated(env: Env, vid: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = _admin_view(env, vid)
        if view["os-vol-mig-status-attr:migstat"] in ("success", "error"):
            if view["status"] not in ("retyping", "maintenance"):
                return view
        time.sleep(0.2)
    raise AssertionError(f"volume {vid} still migrating: {view}")


def _gone(check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while check():
        assert time.monotonic() < deadline, "the source copy was never deleted"
        time.sleep(0.2)


def _migrations(env: Env, ceph_cluster: CephCluster, host: Companion) -> list[str]:
    """file -> RBD by retype (killed -9 mid-copy first), RBD -> file by the admin."""
    vid = env.create(volume_type="file", size=2)["id"]
    write_file(env, vid, 0x5A, length=4 * MiB)
    write_file(env, vid, 0x3C, offset=2047 * MiB, length=MiB)
    file_host = _admin_view(env, vid)["os-vol-host-attr:host"]
    retype = {"os-retype": {"new_type": "ceph", "migration_policy": "never"}}
    env.demo.post(f"/volumes/{vid}/action", retype, 202)
    view = env.wait(vid, "available", timeout=60)
    assert view["volume_type"] == "file"  # never: the file backend cannot be ceph

    # killed mid-copy: the source stays as it was, the partial copy goes
    retype["os-retype"]["migration_policy"] = "on-demand"
    env.demo.post(f"/volumes/{vid}/action", retype, 202)
    deadline = time.monotonic() + 60
    while _admin_view(env, vid)["os-vol-mig-status-attr:migstat"] != "migrating":
        assert time.monotonic() < deadline, "the migration never started"
        time.sleep(0.05)
    host.kill()
    host.start(env)
    view = _migrated(env, vid)
    assert view["os-vol-mig-status-attr:migstat"] == "error", view
    assert (view["status"], view["volume_type"]) == ("available", "file")
    assert view["os-vol-host-attr:host"] == file_host
    # (a killed librbd client's watch outlives it ~30 s: the delete may wait for that)
    _gone(lambda: f"volume-{vid}" in rbd_images(ceph_cluster, "volumes"), timeout=150)
    assert holds(env, f"volume-{vid}", 0x5A, length=4 * MiB)

    # file -> RBD (the CLI's retype): same id, the data on the RBD image, the file gone
    started = time.monotonic()
    env.cloud.osc("volume", "set", "--type", "ceph", "--retype-policy", "on-demand", vid,
                  cloud="tinystack-demo")  # fmt: skip
    view = _migrated(env, vid)
    took = time.monotonic() - started
    assert view["os-vol-mig-status-attr:migstat"] == "success", view
    assert (view["status"], view["volume_type"]) == ("available", "ceph")
    assert view["os-vol-host-attr:host"].startswith("ceph-host@ceph")
    got = read(ceph_cluster, "volumes", f"volume-{vid}", 0, 4 * MiB + 1)
    assert got == bytes([0x5A]) * (4 * MiB) + b"\0"
    got = read(ceph_cluster, "volumes", f"volume-{vid}", 2047 * MiB, MiB)
    assert got == bytes([0x3C]) * MiB
    _gone(env.volume_file(vid).exists)
    print(f"\n2 GiB file -> rbd migration (4+1 MiB written): {took:.1f} s")

    # RBD -> file by the admin (same host refused), locked meanwhile
    migrate: dict[str, dict[str, Any]] = {"os-migrate_volume": {"host": "ceph-host@ceph"}}
    env.admin.post(f"/volumes/{vid}/action", migrate, 400)
    env.demo.post(f"/volumes/{vid}/action", migrate, 403)
    target = file_host.partition("#")[0]
    migrate = {"os-migrate_volume": {"host": target, "lock_volume": True}}
    env.admin.post(f"/volumes/{vid}/action", migrate, 202)
    view = _migrated(env, vid)
    assert view["os-vol-mig-status-attr:migstat"] == "success", view
    assert (view["status"], view["volume_type"]) == ("available", "ceph")
    assert view["os-vol-host-attr:host"] == file_host
    assert holds(env, f"volume-{vid}", 0x5A, length=4 * MiB)
    assert holds(env, f"volume-{vid}", 0x3C, offset=2047 * MiB, length=MiB)
    _gone(lambda: f"volume-{vid}" in rbd_images(ceph_cluster, "volumes"))
    return [vid]


def _multiattach(env: Env, ceph_cluster: CephCluster) -> list[str]:
    """A multiattach type on the ceph backend: two attachments from two hosts, both rbd
    connection infos of the one image (no exclusive-lock: both guests may write)."""
    specs = {"volume_backend_name": "ceph", "multiattach": "<is> True"}
    body = {"volume_type": {"name": "ceph-multi", "extra_specs": specs}}
    env.admin.post("/types", body, 200)
    vol = env.create(volume_type="ceph-multi", size=1)
    assert vol["multiattach"] is True
    api = env.demo.at("3.54")
    made = []
    for host in ("host-a", "host-b"):
        att = {"volume_uuid": vol["id"], "instance_uuid": str(uuid.uuid4()),
               "connector": connector(host)}  # fmt: skip
        created = api.post("/attachments", {"attachment": att}, 200).json()["attachment"]
        api.post(f"/attachments/{created['id']}/action", {"os-complete": {}}, 204)
        made.append(created)
    infos = [a["connection_info"] for a in made]
    assert [i["driver_volume_type"] for i in infos] == ["rbd", "rbd"]
    assert {i.get("data", i)["name"] for i in infos} == {f"volumes/volume-{vol['id']}"}
    assert all(ceph_cluster.key("cinder") not in str(i) for i in infos)
    assert image_features(ceph_cluster, vol["id"]) & 1 << 2 == 0  # RBD_FEATURE_EXCLUSIVE_LOCK
    volume = env.wait(vol["id"], "in-use")
    assert {x["attachment_id"] for x in volume["attachments"]} == {a["id"] for a in made}
    for created in made:
        api.delete(f"/attachments/{created['id']}", 200)
    env.wait(vol["id"], "available")
    return [vol["id"]]
