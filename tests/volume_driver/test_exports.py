"""Attachments: local files and NBD exports by qemu-storage-daemon, opened with QEMU's own
NBD client (qemu-io / qemu-img with ``nbd://`` URLs)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.cloudproc import free_port
from tests.network_dataplane.support import PATIENCE
from tests.volume_driver.conftest import make_driver, nbd_url, qemu_io
from tinystack.volume.drivers import qemu_img
from tinystack.volume.drivers.base import Connector, SnapshotRef, VolumeRef
from tinystack.volume.drivers.errors import GuestMustResize, VolumeBusy
from tinystack.volume.drivers.file import FileDriver
from tinystack.volume.drivers.qemu_img import GiB
from tinystack.volume.drivers.storage_daemon import StorageDaemon, running

V1 = "11111111-1111-1111-1111-111111111111"
V2 = "22222222-2222-2222-2222-222222222222"
S1 = "aaaaaaaa-1111-1111-1111-111111111111"
A1 = "a1a1a1a1-0000-0000-0000-000000000001"
A2 = "a2a2a2a2-0000-0000-0000-000000000002"
LOCAL = Connector(host="storage-host", ip="127.0.0.1")
REMOTE = Connector(host="compute-2", ip="10.0.0.2")


def vpath(driver: FileDriver, volume_id: str) -> Path:
    return driver.directory / f"volume-{volume_id}.{driver.volume_format}"


def nbd_size(url: str) -> int:
    """The export's size as QEMU's NBD client sees it."""
    out = qemu_img.run(["info", "--output=json", "-f", "raw", url], timeout=60)
    return int(json.loads(out)["virtual-size"])


def test_local_connector_gets_the_file(driver: FileDriver) -> None:
    driver.create_volume(VolumeRef(V1, 1))
    info = driver.initialize_connection(VolumeRef(V1, 1), LOCAL, A1)
    assert info.driver_volume_type == "file"
    assert info.data["device_path"] == info.data["path"] == str(vpath(driver, V1))
    assert info.data["format"] == driver.volume_format
    assert driver.exports() == [A1]
    assert driver.exports_.daemon.pid() is None  # no daemon for local files
    driver.terminate_connection(VolumeRef(V1, 1), A1)
    driver.terminate_connection(VolumeRef(V1, 1), A1)  # unknown now: fine
    assert driver.exports() == []


def test_nbd_export_round_trip(driver: FileDriver) -> None:
    driver.create_volume(VolumeRef(V1, 1))
    info = driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1)
    assert info.driver_volume_type == "nbd"
    assert info.data == {
        "host": "127.0.0.1",
        "port": driver.exports_.nbd_port,
        "export_name": A1,
        "format": "raw",
    }
    assert driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1) == info  # idempotent
    url = nbd_url(info.data)
    assert nbd_size(url) == GiB  # the guest-visible size, whatever the file's format
    qemu_io(url, "raw", "write -P 0xc4 1M 3M")
    qemu_io(url, "raw", "read -P 0xc4 1M 3M")
    driver.terminate_connection(VolumeRef(V1, 1), A1)
    with pytest.raises(Exception, match="qemu-img info failed"):
        nbd_size(url)  # the export is gone
    qemu_io(str(vpath(driver, V1)), driver.volume_format, "read -P 0xc4 1M 3M")
    qemu_io(str(vpath(driver, V1)), driver.volume_format, "read -P 0 0 1M")


def test_two_exports_of_one_volume_share_a_node(qcow2_driver: FileDriver) -> None:
    driver = qcow2_driver
    driver.create_volume(VolumeRef(V1, 1))
    one = nbd_url(driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1).data)
    two = nbd_url(driver.initialize_connection(VolumeRef(V1, 1), Connector("c3"), A2).data)
    qemu_io(one, "raw", "write -P 0x01 0 1M")
    qemu_io(two, "raw", "read -P 0x01 0 1M")  # the same bytes, no second writer
    # a local attach of a volume served by the daemon goes through the daemon too
    local = driver.initialize_connection(VolumeRef(V1, 1), LOCAL, "a3")
    assert local.driver_volume_type == "nbd"
    driver.terminate_connection(VolumeRef(V1, 1), A1)
    qemu_io(two, "raw", "read -P 0x01 0 1M")
    assert sorted(driver.exports()) == sorted([A2, "a3"])


def test_direct_file_attachment_is_not_shared(qcow2_driver: FileDriver) -> None:
    driver = qcow2_driver
    driver.create_volume(VolumeRef(V1, 1))
    driver.initialize_connection(VolumeRef(V1, 1), LOCAL, A1)
    with pytest.raises(VolumeBusy):
        driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A2)
    assert driver.exports() == [A1]


def test_exports_survive_a_manager_restart(
    qcow2_driver: FileDriver, tmp_path: Path, run_dir: Path
) -> None:
    driver = qcow2_driver
    driver.create_volume(VolumeRef(V1, 1))
    url = nbd_url(driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1).data)
    qemu_io(url, "raw", "write -P 0x5e 0 1M")
    pid = driver.exports_.daemon.pid()
    driver.close(stop_daemon=False)  # as if the manager were killed
    again = make_driver(driver.directory, run_dir, port=driver.exports_.nbd_port)
    try:
        assert again.exports_.daemon.pid() == pid  # adopted, not restarted
        assert again.exports() == [A1]
        qemu_io(url, "raw", "read -P 0x5e 0 1M")
        again.reconcile(set())  # the database knows no attachment any more
        assert again.exports() == []
        with pytest.raises(Exception, match="qemu-img info failed"):
            nbd_size(url)
    finally:
        again.close()
    assert pid is not None and not running(pid)  # close() stopped the adopted daemon


def test_a_dead_daemon_is_restarted_with_its_exports(tmp_path: Path, run_dir: Path) -> None:
    driver = make_driver(tmp_path / "vols", run_dir, watch_interval=0.2)
    try:
        driver.create_volume(VolumeRef(V1, 1))
        url = nbd_url(driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1).data)
        qemu_io(url, "raw", "write -P 0x6f 0 1M")
        pid = driver.exports_.daemon.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10 * PATIENCE
        while driver.exports_.daemon.pid() in (None, pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert driver.exports_.daemon.pid() not in (None, pid)
        # the new daemon runs before its exports are added again: a client retries
        while time.monotonic() < deadline and "not present" in nbd_error(url):
            time.sleep(0.1)
        qemu_io(url, "raw", "read -P 0x6f 0 1M")  # same name, same port, same data
    finally:
        driver.close()


def test_reconcile_restarts_a_dead_daemon(qcow2_driver: FileDriver) -> None:
    driver = qcow2_driver
    driver.create_volume(VolumeRef(V1, 1))
    driver.create_volume(VolumeRef(V2, 1))
    url1 = nbd_url(driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1).data)
    url2 = nbd_url(driver.initialize_connection(VolumeRef(V2, 1), REMOTE, A2).data)
    driver.exports_.daemon.stop()
    driver.reconcile({A1})
    qemu_io(url1, "raw", "read -P 0 0 1M")
    with pytest.raises(Exception, match="qemu-img info failed"):
        nbd_size(url2)
    assert driver.exports() == [A1]


def test_extend_while_exported(driver: FileDriver) -> None:
    driver.create_volume(VolumeRef(V1, 1))
    url = nbd_url(driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1).data)
    qemu_io(url, "raw", "write -P 0x7a 0 1M")
    driver.extend_volume(VolumeRef(V1, 1), 2)
    assert nbd_size(url) == 2 * GiB  # a (re)connecting client sees the new size
    qemu_io(url, "raw", "write -P 0x7b 1536M 1M")
    qemu_io(url, "raw", "read -P 0x7a 0 1M")
    driver.terminate_connection(VolumeRef(V1, 1), A1)
    assert qemu_img.info(vpath(driver, V1), driver.volume_format).virtual_size == 2 * GiB


def test_snapshot_of_an_exported_volume_is_point_in_time(driver: FileDriver) -> None:
    driver.create_volume(VolumeRef(V1, 1))
    url = nbd_url(driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1).data)
    qemu_io(url, "raw", "write -P 0x31 0 8M")
    # a writer keeps writing another pattern through the export during the snapshot
    writer = subprocess.Popen(
        ["qemu-io", "-f", "raw", "-c", "write -P 0x32 8M 64M", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        snap = SnapshotRef(S1, V1, 1)
        driver.create_snapshot(snap)
    finally:
        writer.wait(timeout=120)
    qemu_io(url, "raw", "write -P 0x33 0 8M")
    spath = driver.directory / f"snapshot-{S1}.qcow2"  # the daemon's copies are qcow2
    qemu_io(str(spath), "qcow2", "read -P 0x31 0 8M")
    assert spath.stat().st_blocks * 512 < 100 << 20  # holes stay holes, also of raw volumes
    driver.create_volume_from_snapshot(VolumeRef(V2, 1), snap)
    qemu_io(str(vpath(driver, V2)), driver.volume_format, "read -P 0x31 0 8M")
    with pytest.raises(VolumeBusy):
        driver.revert_to_snapshot(VolumeRef(V1, 1), snap)
    with pytest.raises(VolumeBusy):
        driver.delete_volume(VolumeRef(V1, 1))


def test_open_volume_reads_and_writes_guest_bytes(driver: FileDriver) -> None:
    driver.create_volume(VolumeRef(V1, 1))
    payload = os.urandom(3 << 20)
    with driver.open_volume(VolumeRef(V1, 1), write=True) as f:
        f.seek(5 << 20)
        f.write(payload)
        f.seek(0, os.SEEK_END)
        assert f.tell() == GiB
    with driver.open_volume(VolumeRef(V1, 1), write=False) as f:
        f.seek(5 << 20)
        assert f.read(len(payload)) == payload
        assert f.read(1 << 20) == bytes(1 << 20)
    driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1)
    with pytest.raises(VolumeBusy):
        driver.open_volume(VolumeRef(V1, 1), write=True)
    with driver.open_volume(VolumeRef(V1, 1), write=False) as f:  # reading an in-use one
        f.seek(5 << 20)
        assert f.read(len(payload)) == payload


def _client(url_data: Mapping[str, object], *commands: str) -> subprocess.Popen[str]:
    """A QEMU NBD client that stays connected (qemu-io with ``reconnect-delay``, as the
    compute side opens a remote volume) running ``commands``."""
    opts = (
        "driver=raw,file.driver=nbd,file.server.type=inet,"
        f"file.server.host={url_data['host']},file.server.port={url_data['port']},"
        f"file.export={url_data['export_name']},file.reconnect-delay=15"
    )
    args = [arg for c in commands for arg in ("-c", c)]
    return subprocess.Popen(
        ["qemu-io", "--image-opts", opts, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_connected_client_grows_with_an_online_extend(qcow2_driver: FileDriver) -> None:
    driver = qcow2_driver
    driver.create_volume(VolumeRef(V1, 1))
    data = driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1).data
    client = _client(
        data,
        "write -P 0x12 0 64k",
        "sleep 2500",  # the extend happens meanwhile
        "read -P 0x12 0 64k",  # reconnects to the re-created export, sees 2 GiB
        "truncate 2G",  # what the compute side's block_resize does
        "length",
        "write -P 0x13 1536M 64k",
        "read -P 0x13 1536M 64k",
    )
    time.sleep(1)
    driver.extend_volume(VolumeRef(V1, 1), 2)
    out, _ = client.communicate(timeout=60)
    assert client.returncode == 0, out
    assert "2 GiB" in out and "failed" not in out.lower(), out
    driver.terminate_connection(VolumeRef(V1, 1), A1)
    qemu_io(str(vpath(driver, V1)), "qcow2", "read -P 0x13 1536M 64k")


def test_a_connected_client_survives_a_daemon_crash(tmp_path: Path, run_dir: Path) -> None:
    driver = make_driver(tmp_path / "vols", run_dir, watch_interval=0.2)
    try:
        driver.create_volume(VolumeRef(V1, 1))
        data = driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1).data
        client = _client(
            data, "write -P 0x21 0 64k", "sleep 3000", "write -P 0x22 64k 64k", "read -P 0x21 0 64k"
        )
        time.sleep(1)
        pid = driver.exports_.daemon.pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # the exporter dies under a connected guest
        out, _ = client.communicate(timeout=60)
        assert client.returncode == 0 and "failed" not in out.lower(), out
        driver.terminate_connection(VolumeRef(V1, 1), A1)
        qemu_io(str(vpath(driver, V1)), "qcow2", "read -P 0x22 64k 64k")
    finally:
        driver.close()


@pytest.fixture
def second_host() -> Iterator[tuple[str, str, str]]:
    """A compute host in a network namespace joined to this host by a veth pair:
    (namespace, this host's address, its address). Removed by name afterwards."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for a namespace host")
    tag = uuid.uuid4().hex[:6]
    ns, veth = f"tsvd-{tag}", f"tsvd{tag}"
    octet = int(tag[:2], 16) % 250 + 1
    here, there = f"10.231.{octet}.1", f"10.231.{octet}.2"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    try:
        ip("netns", "add", ns)
        ip("link", "add", veth, "type", "veth", "peer", "name", f"{veth}p")
        ip("link", "set", f"{veth}p", "netns", ns)
        ip("addr", "add", f"{here}/30", "dev", veth)
        ip("link", "set", veth, "up")
        ip("-n", ns, "addr", "add", f"{there}/30", "dev", f"{veth}p")
        ip("-n", ns, "link", "set", f"{veth}p", "up")
        ip("-n", ns, "link", "set", "lo", "up")
        yield ns, here, there
    finally:
        subprocess.run(["ip", "link", "del", veth], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def test_remote_attach_from_a_namespace_host(
    second_host: tuple[str, str, str], tmp_path: Path, run_dir: Path
) -> None:
    ns, here, there = second_host
    driver = FileDriver(
        tmp_path / "vols", 10, "file1", here, host="storage-host",
        nbd_port=free_port(), run_dir=run_dir,
    )  # fmt: skip
    driver.do_setup()
    try:
        driver.create_volume(VolumeRef(V1, 1))
        info = driver.initialize_connection(VolumeRef(V1, 1), Connector("h2", ip=there), A1)
        assert info.data["host"] == here
        url = nbd_url(info.data)
        out = subprocess.run(
            ["ip", "netns", "exec", ns, "qemu-io", "-f", "raw", "-c", "write -P 0x9d 0 2M", url],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert out.returncode == 0 and "wrote" in out.stdout, out.stdout + out.stderr
        driver.terminate_connection(VolumeRef(V1, 1), A1)
        qemu_io(str(vpath(driver, V1)), "qcow2", "read -P 0x9d 0 2M")
    finally:
        driver.close()


def test_a_volume_held_by_a_local_qemu(qcow2_driver: FileDriver, run_dir: Path) -> None:
    """A local attachment: the compute host's QEMU (a storage daemon stands in for it)
    holds the file and its lock. Snapshots, clones and backups read it without the lock;
    extend is left to that QEMU's block_resize."""
    driver = qcow2_driver
    driver.create_volume(VolumeRef(V1, 1))
    qemu_io(str(vpath(driver, V1)), "qcow2", "write -P 0x4c 0 1M")
    info = driver.initialize_connection(VolumeRef(V1, 1), LOCAL, A1)
    compute = StorageDaemon(run_dir / "compute", None)
    compute.start()
    try:
        compute.command(
            "blockdev-add",
            {
                "driver": "qcow2",
                "node-name": "disk",
                "file": {"driver": "file", "filename": str(info.data["path"])},
            },
        )
        with pytest.raises(GuestMustResize):  # locked: only the compute side can grow it
            driver.extend_volume(VolumeRef(V1, 1), 2)
        compute.command("block_resize", {"node-name": "disk", "size": 2 * GiB})
        driver.create_snapshot(SnapshotRef(S1, V1, 2))
        driver.create_cloned_volume(VolumeRef(V2, 2), VolumeRef(V1, 2))
        with driver.open_volume(VolumeRef(V1, 2), write=False) as f:
            assert f.read(1 << 20) == b"\x4c" * (1 << 20)
        with pytest.raises(VolumeBusy):
            driver.open_volume(VolumeRef(V1, 2), write=True)
    finally:
        compute.stop()
    assert qemu_img.info(vpath(driver, V1), "qcow2").virtual_size == 2 * GiB
    qemu_io(str(driver.directory / f"snapshot-{S1}.qcow2"), "qcow2", "read -P 0x4c 0 1M")
    qemu_io(str(vpath(driver, V2)), "qcow2", "read -P 0x4c 0 1M")


def test_close_leaves_no_runtime_files(tmp_path: Path) -> None:
    """With the default runtime directory (under /run): nothing is left after close."""
    driver = FileDriver(tmp_path / "vols", 10, "file1", "127.0.0.1", nbd_port=free_port())
    driver.do_setup()
    try:
        driver.create_volume(VolumeRef(V1, 1))
        driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1)
        assert driver.exports_.daemon.pid() is not None
    finally:
        driver.close()
    assert not driver.run_dir.exists()


def nbd_error(url: str) -> str:
    """What qemu-img says opening the export ("" when it opens)."""
    done = subprocess.run(["qemu-img", "info", url], capture_output=True, text=True, check=False)
    return "" if done.returncode == 0 else done.stderr
