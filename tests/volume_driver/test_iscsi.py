"""iSCSI exports of raw volumes through a private tgtd, opened with QEMU's built-in iSCSI
client (``iscsi://`` URLs, qemu-block-extra)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.volume_driver.conftest import make_driver, qemu_io
from tinystack.volume.drivers.base import Connector, VolumeRef
from tinystack.volume.drivers.file import FileDriver
from tinystack.volume.drivers.qemu_img import GiB

V1 = "11111111-1111-1111-1111-111111111111"
A1 = "a1a1a1a1-0000-0000-0000-000000000001"
A2 = "a2a2a2a2-0000-0000-0000-000000000002"
REMOTE = Connector(host="compute-2", ip="10.0.0.2", initiator="iqn.1993-08.org.debian:01:c2")


def _iscsi_available() -> str | None:
    if os.geteuid() != 0:
        return "tgtd needs root"
    if shutil.which("tgtd") is None or shutil.which("tgtadm") is None:
        return "tgt is not installed"
    if not any(Path(d, "block-iscsi.so").exists() for d in ("/usr/lib/x86_64-linux-gnu/qemu",)):
        return "QEMU's iSCSI client (qemu-block-extra) is not installed"
    return None


pytestmark = pytest.mark.skipif(_iscsi_available() is not None, reason=str(_iscsi_available()))


def _three_ports() -> tuple[int, int, int]:
    """Three distinct free ports of this area's range (NBD, iSCSI portal, tgt control)."""
    found: list[int] = []
    socks = []
    try:
        for port in range(21100, 21200):
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            socks.append(s)
            found.append(port)
            if len(found) == 3:
                return found[0], found[1], found[2]
    finally:
        for s in socks:
            s.close()
    raise RuntimeError("no three free ports in 21100-21199")


@pytest.fixture
def iscsi_driver(tmp_path: Path, run_dir: Path) -> Iterator[FileDriver]:
    nbd, portal, control = _three_ports()
    drv = make_driver(
        tmp_path / "vols", run_dir, "raw", port=nbd, remote_protocol="iscsi",
        iscsi_port=portal, tgt_control_port=control,
    )  # fmt: skip
    try:
        yield drv
    finally:
        drv.close()
        tgt = drv.exports_.tgt
        pid = tgt.pid() if tgt is not None else None
        if pid is not None:  # close() failed: ours by pidfile and control port
            os.kill(pid, signal.SIGKILL)


def url(data: Mapping[str, object], credentials: bool = True) -> str:
    auth = f"{data['auth_username']}%{data['auth_password']}@" if credentials else ""
    return f"iscsi://{auth}{data['target_portal']}/{data['target_iqn']}/{data['target_lun']}"


def size_of(target: str) -> int:
    proc = subprocess.run(
        ["qemu-img", "info", "-f", "raw", "--output=json", target],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return int(json.loads(proc.stdout)["virtual-size"])


def test_iscsi_export_round_trip(iscsi_driver: FileDriver) -> None:
    driver = iscsi_driver
    driver.create_volume(VolumeRef(V1, 1))
    info = driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1)
    assert info.driver_volume_type == "iscsi"
    data = info.data
    assert data["target_lun"] == 1 and data["auth_method"] == "CHAP"
    assert str(data["target_iqn"]).startswith("iqn.2010-10.org.openstack:volume-" + V1)
    assert driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1) == info  # idempotent
    assert size_of(url(data)) == GiB
    # without the CHAP secret the target does not let us in
    denied = subprocess.run(
        ["qemu-img", "info", "-f", "raw", url(data, credentials=False)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert denied.returncode != 0
    qemu_io(url(data), "raw", "write -P 0xe1 2M 2M")
    second = driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A2).data
    assert second["target_iqn"] != data["target_iqn"]  # a target per attachment
    qemu_io(url(second), "raw", "read -P 0xe1 2M 2M")
    driver.terminate_connection(VolumeRef(V1, 1), A1)
    driver.terminate_connection(VolumeRef(V1, 1), A2)
    assert driver.exports() == []
    failed = subprocess.run(
        ["qemu-img", "info", "-f", "raw", url(data)], capture_output=True, timeout=60, check=False
    )
    assert failed.returncode != 0  # the target is gone
    qemu_io(str(driver.directory / f"volume-{V1}.raw"), "raw", "read -P 0xe1 2M 2M")


def test_a_dead_tgtd_is_restarted_with_its_targets(iscsi_driver: FileDriver) -> None:
    driver = iscsi_driver
    driver.create_volume(VolumeRef(V1, 1))
    data = driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1).data
    qemu_io(url(data), "raw", "write -P 0xe2 0 1M")
    tgt = driver.exports_.tgt
    assert tgt is not None
    pid = tgt.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while tgt.pid() == pid and time.monotonic() < deadline:
        time.sleep(0.05)
    driver.reconcile({A1})
    assert tgt.pid() not in (None, pid)
    qemu_io(url(data), "raw", "read -P 0xe2 0 1M")  # same IQN, same secret
    driver.close()
    assert tgt.pid() is None


def test_extend_while_exported_over_iscsi(iscsi_driver: FileDriver) -> None:
    driver = iscsi_driver
    driver.create_volume(VolumeRef(V1, 1))
    target = url(driver.initialize_connection(VolumeRef(V1, 1), REMOTE, A1).data)
    client = subprocess.Popen(
        ["qemu-io", "-f", "raw", "-c", "write -P 0xe3 0 64k", "-c", "sleep 2000",
         "-c", "truncate 2G", "-c", "length", "-c", "write -P 0xe4 1536M 64k",
         "-c", "read -P 0xe3 0 64k", target],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    time.sleep(0.8)
    driver.extend_volume(VolumeRef(V1, 1), 2)
    out, _ = client.communicate(timeout=60)
    assert client.returncode == 0 and "2 GiB" in out and "failed" not in out.lower(), out
    assert size_of(target) == 2 * GiB
    qemu_io(str(driver.directory / f"volume-{V1}.raw"), "raw", "read -P 0xe4 1536M 64k")
