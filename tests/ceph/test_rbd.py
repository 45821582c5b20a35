"""End to end on Ceph: the image service's ``rbd`` store, the block storage service's
``rbd`` driver and the QEMU driver opening RBD volumes through librbd, in one cloud
(``tinystack up``, the real ``openstack`` CLI) against the session's test cluster.

``image create --file`` lands in the ``images`` pool with its protected snapshot;
``volume create --image`` is a copy-on-write clone of that snapshot; an RBD volume
hot-plugged into a real guest keeps what the guest wrote across detach and re-attach
and grows online; a snapshot and a volume from it are a snapshot and a clone in the
pool; deleting everything leaves the pools empty. The cephx keys never show in process
arguments, the cloud's log or API answers. Root disks are RBD images too (``[compute]
images_type = rbd``): a clone of a raw image's snapshot in ``vms`` (nothing downloaded);
``server image create`` of such a server is Nova's direct snapshot (a flattened clone in
the ``images`` pool, nothing uploaded), and a server boots from it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ceph_cluster import CephCluster
from tests.cloudproc import CloudProcess
from tests.compute_qemu.conftest import READY, cleanup_state
from tests.compute_qemu.conftest import SKIP as QEMU_SKIP
from tests.compute_qemu.test_cli import EXTRA_CONF, Cloud
from tests.compute_qemu.test_volume_cli import DISK_SCRIPT, GiB, wait_volume
from tinystack.common import ceph

pytestmark = [pytest.mark.cli, pytest.mark.root]

SECRET_UUID = str(uuid.uuid4())
MARKER = b"TSQ-RBD-IMAGE-DATA"


@pytest.fixture(scope="module")
def cloud(
    ceph_starting: CephCluster, tmp_path_factory: pytest.TempPathFactory, test_image: Path
) -> Iterator[Cloud]:
    """The cloud on the cluster (the test image builds while the cluster starts)."""
    if QEMU_SKIP:
        pytest.skip(QEMU_SKIP)
    ceph_cluster = ceph_starting.wait()
    state = tmp_path_factory.mktemp("tsq-rbd")
    (state / "bootstrap-images").mkdir()
    shutil.copyfile(test_image, state / "bootstrap-images" / "tinystack-test.qcow2")
    conf = ceph_cluster.conf
    # its own VNC ports: the host-ceph lane runs beside compute_qemu's modules
    extra = EXTRA_CONF.replace("16900", "21300").replace("16999", "21349") + (
        f"rbd_secret_uuid = {SECRET_UUID}\n"
        f"rbd_keyring = {ceph_cluster.keyring('cinder')}\n"
        "images_type = rbd\n"
        f"images_rbd_ceph_conf = {conf}\n"
        "rbd_user = cinder\n"
        "[image]\n"
        "default_store = rbd\n"
        f"rbd_store_ceph_conf = {conf}\n"
        "show_image_direct_url = true\n"
        "[volume]\n"
        "volume_driver = rbd\n"
        "backend_name = ceph\n"
        "volume_backend_name = ceph\n"
        f"rbd_ceph_conf = {conf}\n"
        f"rbd_secret_uuid = {SECRET_UUID}\n"
        "report_interval = 1\n"
    )
    proc = CloudProcess(state, ["identity", "placement", "image", "compute", "volume"], extra)
    proc.start(timeout=180)
    try:
        yield Cloud(proc)
    finally:
        proc.stop()
        cleanup_state(state, test_devices=False)


def rbd_images(cluster: CephCluster, pool: str) -> list[str]:
    with cluster.admin() as rados:
        io = rados.open_ioctx(pool)
        try:
            return sorted(ceph.bindings().rbd.RBD().list(io))
        finally:
            io.close()


def rbd_info(cluster: CephCluster, pool: str, name: str) -> dict[str, Any]:
    """An RBD image's size, snapshots (name -> protected), parent and first bytes."""
    rbd = ceph.bindings().rbd
    with cluster.admin() as rados:
        io = rados.open_ioctx(pool)
        try:
            with rbd.Image(io, name, read_only=True) as image:
                snaps = {s["name"]: image.is_protected_snap(s["name"]) for s in image.list_snaps()}
                try:
                    parent = image.get_parent_image_spec()
                    parent_name = (
                        f"{parent['pool_name']}/{parent['image_name']}@{parent['snap_name']}"
                    )
                except rbd.ImageNotFound:
                    parent_name = None
                return {
                    "size": image.size(),
                    "snaps": snaps,
                    "parent": parent_name,
                    "head": bytes(image.read(0, 64)),
                }
        finally:
            io.close()


def wait_gone(cloud: Cloud, kind: str, ident: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while ident in {v["ID"] for v in cloud.osc(kind, "list")}:
        assert time.monotonic() < deadline, f"{kind} {ident} was not deleted"
        time.sleep(0.3)


def test_image_store_and_clone(cloud: Cloud, ceph_cluster: CephCluster, tmp_path: Path) -> None:
    raw = tmp_path / "disk.raw"
    with raw.open("wb") as f:
        f.write(MARKER)
        f.truncate(32 << 20)
    image = cloud.osc(
        "image", "create", "--disk-format", "raw", "--container-format", "bare",
        "--file", str(raw), "tsq-raw",
    )  # fmt: skip
    image_id = image["id"]
    # the image is an RBD image with the protected snapshot others clone
    info = rbd_info(ceph_cluster, "images", image_id)
    assert info["size"] == 32 << 20 and info["snaps"] == {"snap": True}
    assert info["head"].startswith(MARKER)
    shown = httpx.get(
        f"{cloud.proc.endpoint('image')}/v2/images/{image_id}",
        headers={"X-Auth-Token": cloud.proc.token()},
    ).json()
    fsid = ceph_cluster.fsid
    assert shown["direct_url"] == f"rbd://{fsid}/images/{image_id}/snap"
    assert shown["stores"] == "rbd"

    started = time.monotonic()
    volume = cloud.osc("volume", "create", "--image", image_id, "--size", "1", "tsq-clone")["id"]
    wait_volume(cloud, volume, "available", timeout=30)
    elapsed = time.monotonic() - started
    print(f"\nvolume create --image (rbd clone) -> available: {elapsed:.2f}s (CLI included)")
    clone = rbd_info(ceph_cluster, "volumes", f"volume-{volume}")
    assert clone["parent"] == f"images/{image_id}@snap"
    assert clone["size"] == GiB and clone["head"].startswith(MARKER)

    # the image cannot go while a volume depends on its snapshot (Glance's 409)
    refused = cloud.proc.osc_raw("image", "delete", image_id)
    assert refused.returncode != 0 and "409" in refused.stderr, refused.stderr
    cloud.osc("volume", "delete", volume)
    wait_gone(cloud, "volume", volume)
    cloud.osc("image", "delete", image_id)
    assert image_id not in rbd_images(ceph_cluster, "images")

    # capacity comes from the cluster (ceph df: a 5 GiB OSD)
    token = cloud.proc.token()
    base = cloud.proc.endpoint("block-storage")
    pools = httpx.get(
        f"{base}/scheduler-stats/get_pools?detail=true", headers={"X-Auth-Token": token}
    ).json()["pools"]
    (pool,) = pools
    assert pool["name"].endswith("@ceph#ceph")
    assert 1 < pool["capabilities"]["total_capacity_gb"] <= 5
    assert pool["capabilities"]["storage_protocol"] == "ceph"


def processes_with(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                args = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in args:
                found.append(args.replace(b"\0", b" ").decode(errors="replace")[:200])
    return found


def test_guest_volume_life_cycle(
    cloud: Cloud, ceph_cluster: CephCluster, tmp_path: Path, test_image: Path
) -> None:
    script = tmp_path / "disks.sh"
    script.write_text(DISK_SCRIPT)
    raw = tmp_path / "guest.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(test_image), str(raw)], check=True)
    image = cloud.osc(
        "image", "create", "--disk-format", "raw", "--container-format", "bare",
        "--file", str(raw), "tsq-raw-guest",
    )["id"]  # fmt: skip
    volume = cloud.osc("volume", "create", "--size", "1", "tsq-data")["id"]
    wait_volume(cloud, volume, "available")
    assert f"volume-{volume}" in rbd_images(ceph_cluster, "volumes")
    started = time.monotonic()
    server = cloud.osc_wait(
        "server", "create", "--image", image, "--flavor", "m1.tiny",
        "--user-data", str(script), "--wait", "vm1",
    )  # fmt: skip
    active = time.monotonic() - started
    assert server["status"] == "ACTIVE", server
    vm = server["id"]
    cloud.wait_console(vm, f"{READY} hostname=vm1", timeout=120)
    ready = time.monotonic() - started
    print(f"\nboot from an rbd clone (CLI): ACTIVE {active:.1f}s, guest ready {ready:.1f}s")
    # the root disk is a clone of the image's snapshot: nothing was downloaded
    root = rbd_info(ceph_cluster, "vms", f"{vm}_disk")
    assert root["parent"] == f"images/{image}@snap" and root["size"] == GiB
    assert not (cloud.proc.state_dir / "image-cache" / image).exists()
    # QEMU opens it through librbd (the key in a secret object's file, checked below)
    assert processes_with(f'"image":"{vm}_disk"')

    cloud.osc("server", "add", "volume", vm, volume)
    cloud.wait_console(vm, f"WROTE name=vdb serial={volume[:20]}", timeout=60)
    wait_volume(cloud, volume, "in-use")
    # what the guest wrote is in the RBD image (through QEMU's librbd)
    deadline = time.monotonic() + 20
    while not rbd_info(ceph_cluster, "volumes", f"volume-{volume}")["head"].startswith(
        b"TSQ-WRITTEN-vm1"
    ):
        assert time.monotonic() < deadline, "the guest's write did not reach the pool"
        time.sleep(0.5)
    secrets = [ceph_cluster.key("cinder"), ceph_cluster.key("glance")]
    for key in secrets:
        assert processes_with(key) == []
    attachment = volume_attachment(cloud, volume)
    for key in secrets:
        assert key not in attachment
    assert '"driver_volume_type": "rbd"' in attachment

    # detach, re-attach: the data is still there
    cloud.osc("server", "remove", "volume", vm, volume)
    cloud.wait_console(vm, "GONE name=vdb", timeout=60)
    wait_volume(cloud, volume, "available")
    cloud.osc("server", "add", "volume", vm, volume)
    cloud.wait_console(vm, f"serial={volume[:20]} sectors={GiB // 512} data=TSQ-WRITTEN-vm1")

    # online extend: the guest sees the new size
    cloud.osc("volume", "set", "--size", "2", volume)
    cloud.wait_console(vm, f"serial={volume[:20]} sectors={2 * GiB // 512}", timeout=60)
    wait_volume(cloud, volume, "in-use")
    assert rbd_info(ceph_cluster, "volumes", f"volume-{volume}")["size"] == 2 * GiB

    # a snapshot, and a volume from it: a clone of the RBD snapshot
    made = cloud.proc.osc_raw(
        "--os-volume-api-version", "3.66", "volume", "snapshot", "create", "--volume", volume,
        "tsq-s1", "-f", "json",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    snap = json.loads(made.stdout)
    wait_snapshot(cloud, snap["id"])
    assert (
        f"snapshot-{snap['id']}" in rbd_info(ceph_cluster, "volumes", f"volume-{volume}")["snaps"]
    )
    copy = cloud.osc("volume", "create", "--snapshot", snap["id"], "--size", "2", "tsq-copy")
    wait_volume(cloud, copy["id"], "available")
    cloned = rbd_info(ceph_cluster, "volumes", f"volume-{copy['id']}")
    assert cloned["parent"] == f"volumes/volume-{volume}@snapshot-{snap['id']}"
    assert cloned["head"].startswith(b"TSQ-WRITTEN-vm1")

    # an image of the server, made as Nova's direct snapshot: the root disk's RBD snapshot
    # cloned into the images pool and flattened, with its protected snapshot; the image
    # service was given its location (a raw image of the disk's size: nothing uploaded)
    started = time.monotonic()
    of_vm = cloud.osc_wait("server", "image", "create", "--name", "tsq-of-vm1", "--wait", vm)
    print(f"server image create (direct snapshot) -> active: {time.monotonic() - started:.1f}s")
    taken = rbd_info(ceph_cluster, "images", of_vm["id"])
    assert taken["snaps"] == {"snap": True} and taken["parent"] is None and taken["size"] == GiB
    assert rbd_info(ceph_cluster, "vms", f"{vm}_disk")["snaps"] == {}
    shown = image_record(cloud, of_vm["id"])
    assert shown["status"] == "active" and shown["disk_format"] == "raw", shown
    assert shown["size"] == GiB and shown["stores"] == "rbd"
    assert shown["direct_url"] == f"rbd://{ceph_cluster.fsid}/images/{of_vm['id']}/snap"
    assert "standard snapshot" not in cloud.proc.log_file.read_text(errors="replace")
    # a server from it boots from a clone of that snapshot
    vm2 = cloud.osc_wait(
        "server", "create", "--image", of_vm["id"], "--flavor", "m1.tiny", "--wait", "vm2"
    )["id"]  # fmt: skip
    cloud.wait_console(vm2, f"{READY} hostname=vm2", timeout=120)
    assert rbd_info(ceph_cluster, "vms", f"{vm2}_disk")["parent"] == f"images/{of_vm['id']}@snap"

    # delete everything in upstream's orders: a snapshot with a clone is busy (it stays
    # available, nothing is copied), so the clone goes first
    cloud.osc("server", "delete", "--wait", vm, vm2)
    assert rbd_images(ceph_cluster, "vms") == []
    cloud.osc("image", "delete", of_vm["id"], image)
    wait_volume(cloud, volume, "available")
    cloud.osc("volume", "snapshot", "delete", snap["id"])
    wait_snapshot(cloud, snap["id"])
    assert rbd_info(ceph_cluster, "volumes", f"volume-{copy['id']}")["parent"]
    cloud.osc("volume", "delete", copy["id"])
    wait_gone(cloud, "volume", copy["id"])
    cloud.osc("volume", "snapshot", "delete", snap["id"])
    wait_gone(cloud, "volume snapshot", snap["id"])
    cloud.osc("volume", "delete", volume)
    wait_gone(cloud, "volume", volume)
    assert rbd_images(ceph_cluster, "volumes") == []
    assert rbd_images(ceph_cluster, "images") == []
    data = {
        p: [o for o in objs if o.startswith("rbd_data")]
        for p, objs in ceph_cluster.pool_usage().items()
    }
    assert data == {p: [] for p in data}
    log = cloud.proc.log_file.read_text(errors="replace")
    for key in secrets:
        assert key not in log


def image_record(cloud: Cloud, image_id: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{cloud.proc.endpoint('image')}/v2/images/{image_id}",
        headers={"X-Auth-Token": cloud.proc.token()},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def wait_snapshot(cloud: Cloud, snap: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (status := cloud.osc("volume", "snapshot", "show", snap)["status"]) != "available":
        assert status != "error" and time.monotonic() < deadline, f"snapshot {snap}: {status}"
        time.sleep(0.3)


def volume_attachment(cloud: Cloud, volume: str) -> str:
    """The volume's attachment as the block storage API answers it (3.27), as text."""
    token = cloud.proc.token()
    base = cloud.proc.endpoint("block-storage")
    headers = {"X-Auth-Token": token, "OpenStack-API-Version": "volume 3.27"}
    listed = httpx.get(f"{base}/attachments?volume_id={volume}", headers=headers).json()
    (attachment,) = listed["attachments"]
    answer = httpx.get(f"{base}/attachments/{attachment['id']}", headers=headers)
    assert answer.status_code == 200
    return json.dumps(answer.json())
