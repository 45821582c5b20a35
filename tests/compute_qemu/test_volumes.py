"""Volumes in real QEMU guests (the test image under TCG): hot-plug of a qcow2 file and of
an NBD export served by a ``qemu-storage-daemon`` the test starts, QoS throttling, online
extend, a swap under the running guest, detach, volumes kept across a power cycle, and a
boot from a volume (whose volume is swapped too).

The guest runs a user_data script that reports each virtio disk it sees (name, serial,
size, its first bytes) and each one that goes, so the tests check what the guest itself
sees and reads of data written on the host.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compute_qemu import libvirt_host
from tests.compute_qemu.conftest import READY, Harness
from tinystack.common.qmp import command as qmp
from tinystack.compute import states
from tinystack.compute.objects import BlockDevice, InstanceMeta
from tinystack.compute.virt.driver import DriverError, DriverNotSupported
from tinystack.compute.virt.qemu.definition import Definition

#: prints "DISK name= serial= sectors= data=" for every new (or resized) virtio disk and
#: "GONE name=" for every one that goes
DISK_SCRIPT = r"""#!/bin/sh
seen=""
while true; do
  for d in /sys/block/vd*; do
    [ -e "$d" ] || continue
    n=${d##*/}; s=$(cat "$d/serial" 2>/dev/null); z=$(cat "$d/size")
    k="$n:$s:$z"
    case " $seen " in
      *" $k "*) ;;
      *) v=$(dd if=/dev/$n bs=64 count=1 2>/dev/null | tr -cd 'A-Za-z0-9-')
         echo "DISK name=$n serial=$s sectors=$z data=$v"
         seen=$(for o in $seen; do [ "${o%%:*}" = "$n" ] || echo "$o"; done; echo "$k")
         seen=$(echo $seen) ;;
    esac
  done
  for o in $seen; do
    n=${o%%:*}
    if [ ! -e "/sys/block/$n" ]; then
      echo "GONE name=$n"
      seen=$(for x in $seen; do [ "$x" = "$o" ] || echo "$x"; done); seen=$(echo $seen)
    fi
  done
  sleep 0.5
done
"""
DISK_B64 = base64.b64encode(DISK_SCRIPT.encode()).decode()
NODES = "query-named-block-nodes"
MiB = 1024**2
#: ports for the NBD servers and iSCSI targets the tests start (the range the session was
#: given); tgtd's management channel is its own ``socket.<N>``
NBD_PORT = 21201
ISCSI_PORT = 21202
TGT_CONTROL = 21211
TGT_IQN = "iqn.2010-10.org.tinystack:compute-test"
UUID_V = str(uuidlib.uuid4())
#: the libvirt driver passes the same tests (see conftest); QEMU's block node names are
#: the QEMU driver's own (libvirt names its nodes), so those checks are QEMU-only
DRIVERS = ("qemu", "libvirt")
#: what `make test` runs under libvirt (TINYSTACK_LIBVIRT_TESTS=all: QoS, boot from volume)
LIBVIRT_SUBSET = {
    "test_hotplug_qcow2_file",
    "test_hotplug_nbd_export",
    "test_hotplug_iscsi_with_chap",
    "test_swap_mirrors_under_the_guest",
}


def make_volume(path: Path, text: str, size: int = 64 * MiB, fmt: str = "qcow2") -> None:
    """A volume file whose first bytes are ``text`` (written through qemu-io)."""
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(path), str(size)], check=True)
    pattern = path.with_suffix(".txt")
    pattern.write_bytes(text.encode())
    subprocess.run(
        ["qemu-io", "-f", fmt, "-c", f"write -s {pattern} 0 {len(text)}", str(path)],
        check=True,
        capture_output=True,
    )


def file_info(volume_id: str, path: Path, fmt: str = "qcow2", **data: Any) -> dict[str, Any]:
    return {
        "driver_volume_type": "file",
        "serial": volume_id,
        "data": {"device_path": str(path), "format": fmt, "access_mode": "rw", **data},
    }


def virsh_xml(uuid: str, *options: str) -> str:
    """The libvirt driver's domain of ``uuid`` (``--inactive``: its persistent definition)."""
    name = f"{libvirt_host.PREFIX}{uuid}"
    virsh = ["virsh", "-c", libvirt_host.URI, "dumpxml", *options, name]
    return subprocess.run(virsh, capture_output=True, text=True, check=True).stdout


def defn(h: Harness, uuid: str) -> Definition:
    found = Definition.load(h.driver.settings.instances / uuid)
    assert found is not None
    return found


def disks(h: Harness, inst: InstanceMeta) -> list[dict[str, str]]:
    """The guest's DISK reports so far."""
    found = []
    for line in h.console(inst).splitlines():
        if "DISK name=" in line:  # the getty's prompt may stand before it
            report = line[line.index("DISK name=") :]
            found.append(dict(part.split("=", 1) for part in report.split()[1:] if "=" in part))
    return found


def wait_disk(h: Harness, inst: InstanceMeta, serial: str, **want: str) -> dict[str, str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for disk in reversed(disks(h, inst)):
            if disk.get("serial") == serial[:20] and all(disk.get(k) == v for k, v in want.items()):
                return disk
        time.sleep(0.2)
    raise AssertionError(f"the guest did not report {serial} {want}:\n{h.console(inst)[-2000:]}")


@pytest.fixture(scope="module")
def guest(harness: Harness) -> Iterator[InstanceMeta]:
    h = harness
    inst = h.instance(UUID_V, "tsq-volumes", user_data=DISK_B64)
    h.driver.spawn(h.ctx, inst, [], None)
    try:
        h.wait_console(inst, READY, timeout=60)
        yield inst
    finally:
        h.driver.destroy(h.ctx, inst, [])


@pytest.fixture
def nbd_daemon(harness: Harness) -> Iterator[tuple[Path, int]]:
    """A qemu-storage-daemon exporting a qcow2 volume as ``vol-nbd`` on 127.0.0.1; its
    monitor is ``<state>/qsd.sock``."""
    volume = harness.state / "nbd-volume.qcow2"
    make_volume(volume, "TSQ-NBD-DATA-54321")
    pidfile = harness.state / "qsd.pid"
    monitor = harness.state / "qsd.sock"
    port = NBD_PORT
    cmd = [
        "qemu-storage-daemon",
        "--blockdev", f"driver=file,node-name=f0,filename={volume}",
        "--blockdev", "driver=qcow2,node-name=q0,file=f0",
        "--nbd-server", f"addr.type=inet,addr.host=127.0.0.1,addr.port={port}",
        "--export", "type=nbd,id=e0,node-name=q0,name=vol-nbd,writable=on",
        "--chardev", f"socket,id=m0,path={monitor},server=on,wait=off",
        "--monitor", "chardev=m0",
        "--pidfile", str(pidfile),
        "--daemonize",
    ]  # fmt: skip
    subprocess.run(cmd, check=True, timeout=30)
    pid = int(pidfile.read_text())
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise AssertionError("qemu-storage-daemon does not listen")
            time.sleep(0.05)
        yield volume, port
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass


def _tgtadm(*args: str) -> None:
    subprocess.run(["tgtadm", "-C", str(TGT_CONTROL), "--lld", "iscsi", *args], check=True)


@pytest.fixture
def iscsi_target(harness: Harness) -> Iterator[tuple[int, str, str]]:
    """A userspace iSCSI target (tgtd) exporting a raw file as LUN 1, with CHAP."""
    if not shutil.which("tgtd"):
        pytest.skip("tgt is not installed")
    lun = harness.state / "iscsi-lun.raw"
    make_volume(lun, "TSQ-ISCSI-DATA-31", fmt="raw")
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", ISCSI_PORT)) == 0:
            pytest.fail(f"something already listens on 127.0.0.1:{ISCSI_PORT}")
    log = open(harness.state / "tgtd.log", "wb")
    proc = subprocess.Popen(
        ["tgtd", "-f", "-C", str(TGT_CONTROL), "--iscsi", f"portal=127.0.0.1:{ISCSI_PORT}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    control = Path(f"/var/run/tgtd/socket.{TGT_CONTROL}")
    try:
        deadline = time.monotonic() + 10
        while not control.exists():
            assert time.monotonic() < deadline and proc.poll() is None, "tgtd did not start"
            time.sleep(0.05)
        _tgtadm("--op", "new", "--mode", "target", "--tid", "1", "-T", TGT_IQN)
        _tgtadm("--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "-b", str(lun))
        _tgtadm("--op", "new", "--mode", "account", "--user", "tsq", "--password", "chap-secret-1")
        _tgtadm("--op", "bind", "--mode", "account", "--tid", "1", "--user", "tsq")
        _tgtadm("--op", "bind", "--mode", "target", "--tid", "1", "-I", "ALL")
        yield ISCSI_PORT, "tsq", "chap-secret-1"
    finally:
        proc.kill()  # tgtd ignores SIGTERM while it has targets
        proc.wait()
        log.close()
        for leftover in (control, control.with_name(control.name + ".lock")):
            leftover.unlink(missing_ok=True)


def test_hotplug_qcow2_file(harness: Harness, guest: InstanceMeta) -> None:
    h = harness
    volume_id = str(uuidlib.uuid4())
    path = h.state / "file-volume.qcow2"
    make_volume(path, "TSQ-FILE-DATA-12345")
    info = file_info(volume_id, path)
    h.driver.attach_volume(h.ctx, guest, info, "/dev/vdb")
    disk = wait_disk(h, guest, volume_id)
    assert disk["data"].startswith("TSQ-FILE-DATA-12345")
    assert disk["sectors"] == str(64 * MiB // 512)
    key = volume_id[:20]
    if h.kind == "qemu":
        nodes = {n["node-name"]: n for n in qmp(defn(h, UUID_V).qmp_socket, NODES)}
        assert nodes[f"vf-{key}"]["drv"] == "qcow2" and nodes[f"vp-{key}"]["drv"] == "file"
    (kept,) = defn(h, UUID_V).volumes
    assert kept["serial"] == volume_id and kept["mountpoint"] == "/dev/vdb"
    # a replayed attach is a no-op; another volume on the same device is refused
    h.driver.attach_volume(h.ctx, guest, info, "/dev/vdb")
    with pytest.raises(DriverError):
        h.driver.attach_volume(h.ctx, guest, file_info("other", path), "/dev/vdb")

    # online extend: block_resize grows the qcow2 and the guest sees the new size
    h.driver.extend_volume(h.ctx, guest, info, 96 * MiB)
    wait_disk(h, guest, volume_id, sectors=str(96 * MiB // 512))

    # the guest writes, detach lets it go, the data is in the file
    h.driver.detach_volume(h.ctx, guest, info, "/dev/vdb")
    deadline = time.monotonic() + 30
    while "GONE name=vdb" not in h.console(guest) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "GONE name=vdb" in h.console(guest)
    assert defn(h, UUID_V).volumes == []
    names = {n["node-name"] for n in qmp(defn(h, UUID_V).qmp_socket, NODES)}
    assert not any(key in n for n in names)
    assert not any(str(path) in str(n.get("file")) for n in qmp(defn(h, UUID_V).qmp_socket, NODES))
    size = json.loads(
        subprocess.run(
            ["qemu-img", "info", "--output=json", str(path)], capture_output=True, check=True
        ).stdout
    )["virtual-size"]
    assert size == 96 * MiB


def test_hotplug_nbd_export(
    harness: Harness, guest: InstanceMeta, nbd_daemon: tuple[Path, int]
) -> None:
    h = harness
    _, port = nbd_daemon
    volume_id = str(uuidlib.uuid4())
    info: dict[str, Any] = {
        "driver_volume_type": "nbd",
        "serial": volume_id,
        "data": {
            "host": "127.0.0.1",
            "port": port,
            "export_name": "vol-nbd",
            "format": "raw",
            "access_mode": "rw",
        },
    }
    h.driver.attach_volume(h.ctx, guest, info, "/dev/vdc")
    disk = wait_disk(h, guest, volume_id)
    assert disk["data"].startswith("TSQ-NBD-DATA-54321")
    key = volume_id[:20]
    nodes = {n["node-name"]: n for n in qmp(defn(h, UUID_V).qmp_socket, NODES)}
    assert "nbd" in {n["drv"] for n in nodes.values()}
    if h.kind == "libvirt":  # libvirt cannot reconnect an NBD disk to see a new size
        with pytest.raises(DriverNotSupported):
            h.driver.extend_volume(h.ctx, guest, info, 80 * MiB)
        h.driver.detach_volume(h.ctx, guest, info, "/dev/vdc")
        assert defn(h, UUID_V).volumes == []
        return
    assert nodes[f"vp-{key}"]["drv"] == "nbd"

    # the exporter grows the volume (an export cannot change size under its clients: it
    # goes and comes back), then the guest is told: a new connection sees the new size
    monitor = str(h.state / "qsd.sock")
    qmp(monitor, "block-export-del", {"id": "e0", "mode": "hard"})
    deadline = time.monotonic() + 10
    while qmp(monitor, "query-block-exports"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    qmp(monitor, "block_resize", {"node-name": "q0", "size": 80 * MiB})
    export = {"type": "nbd", "id": "e0", "node-name": "q0", "name": "vol-nbd", "writable": True}
    qmp(monitor, "block-export-add", export)
    h.driver.extend_volume(h.ctx, guest, info, 80 * MiB)
    wait_disk(h, guest, volume_id, sectors=str(80 * MiB // 512))
    (kept,) = defn(h, UUID_V).volumes
    assert kept["generation"] == 1
    nodes = {n["node-name"]: n for n in qmp(defn(h, UUID_V).qmp_socket, NODES)}
    assert f"vp-{key}.1" in nodes and f"vp-{key}" not in nodes

    h.driver.detach_volume(h.ctx, guest, info, "/dev/vdc")
    assert defn(h, UUID_V).volumes == []


def libvirt_secrets() -> int:
    """How many of the tests' libvirt secrets libvirtd holds."""
    listed = subprocess.run(
        ["virsh", "-c", libvirt_host.URI, "secret-list"], capture_output=True, text=True
    )
    return listed.stdout.count(libvirt_host.PREFIX)


def test_hotplug_iscsi_with_chap(
    harness: Harness, guest: InstanceMeta, iscsi_target: tuple[int, str, str]
) -> None:
    h = harness
    port, user, password = iscsi_target
    volume_id = str(uuidlib.uuid4())
    info: dict[str, Any] = {
        "driver_volume_type": "iscsi",
        "serial": volume_id,
        "data": {
            "target_portal": f"127.0.0.1:{port}",
            "target_iqn": TGT_IQN,
            "target_lun": 1,
            "auth_method": "CHAP",
            "auth_username": user,
            "auth_password": password,
            "access_mode": "rw",
        },
    }
    h.driver.attach_volume(h.ctx, guest, info, "/dev/vdf")
    disk = wait_disk(h, guest, volume_id)
    assert disk["data"].startswith("TSQ-ISCSI-DATA-31")
    directory = h.driver.settings.instances / UUID_V
    secret = directory / f"volume-{volume_id[:20]}.secret"
    if h.kind == "qemu":
        assert secret.read_text() == password and secret.stat().st_mode & 0o777 == 0o600
    else:  # the libvirt driver keeps it as a private libvirt secret, gone with the volume
        assert libvirt_secrets() == 1
    h.driver.detach_volume(h.ctx, guest, info, "/dev/vdf")
    assert not secret.exists()
    if h.kind == "libvirt":
        assert libvirt_secrets() == 0
    # a wrong password: QEMU cannot log in, nothing is left plugged or kept
    bad = {**info, "data": {**info["data"], "auth_password": "wrong"}}
    with pytest.raises(DriverError):
        h.driver.attach_volume(h.ctx, guest, bad, "/dev/vdf")
    assert defn(h, UUID_V).volumes == []
    nodes = qmp(defn(h, UUID_V).qmp_socket, NODES)
    assert not any(volume_id[:20] in n["node-name"] or n["drv"] == "iscsi" for n in nodes)


def test_qos_throttles_and_survives_a_power_cycle(harness: Harness, guest: InstanceMeta) -> None:
    h = harness
    volume_id = str(uuidlib.uuid4())
    path = h.state / "qos-volume.raw"
    make_volume(path, "TSQ-QOS-DATA-777", fmt="raw")
    qos = {"total_iops_sec": "200", "read_bytes_sec": "10485760", "total_bytes_sec_max": 0}
    info = file_info(volume_id, path, fmt="raw", qos_specs=qos)
    h.driver.attach_volume(h.ctx, guest, info, "/dev/vdd")
    wait_disk(h, guest, volume_id)
    key = volume_id[:20]
    sock = defn(h, UUID_V).qmp_socket
    if h.kind == "qemu":
        limits = qmp(sock, "qom-get", {"path": f"tg-{key}", "property": "limits"})
        assert limits["iops-total"] == 200 and limits["bps-read"] == 10 * MiB
        nodes = {n["node-name"]: n for n in qmp(sock, NODES)}
        assert nodes[f"vt-{key}"]["drv"] == "throttle"
    else:  # libvirt throttles the device itself
        (block,) = [b for b in qmp(sock, "query-block") if str(path) in str(b.get("inserted"))]
        assert block["inserted"]["iops"] == 200 and block["inserted"]["bps_rd"] == 10 * MiB

    # the definition brings the volume back on the next start (power off/on, host restart)
    boots = h.console(guest).count(READY)
    h.driver.power_off(h.ctx, guest, timeout=30)
    h.driver.power_on(h.ctx, guest, [])
    h.wait_console(guest, READY, count=boots + 1, timeout=60)
    if h.kind == "qemu":
        cmdline = (h.driver.settings.instances / UUID_V / "qemu.cmdline").read_text()
        assert f"tg-{key}" in cmdline and f"vol-{key}" in cmdline
    deadline = time.monotonic() + 30
    while len([d for d in disks(h, guest) if d.get("serial") == key]) < 2:
        assert time.monotonic() < deadline, "the volume is not back after the power cycle"
        time.sleep(0.2)
    h.driver.detach_volume(h.ctx, guest, info, "/dev/vdd")


def test_swap_mirrors_under_the_guest(harness: Harness, guest: InstanceMeta) -> None:
    h = harness
    old_id, new_id = str(uuidlib.uuid4()), str(uuidlib.uuid4())
    old_path, new_path = h.state / "swap-old.qcow2", h.state / "swap-new.qcow2"
    make_volume(old_path, "TSQ-SWAP-DATA-99")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(new_path), "64M"], check=True)
    old_info, new_info = file_info(old_id, old_path), file_info(new_id, new_path)
    h.driver.attach_volume(h.ctx, guest, old_info, "/dev/vde")
    wait_disk(h, guest, old_id)
    assert h.driver.capabilities["supports_swap_volume"]
    h.driver.swap_volume(h.ctx, guest, old_info, new_info, "/dev/vde")
    (kept,) = defn(h, UUID_V).volumes
    assert kept["connection_info"]["data"]["device_path"] == str(new_path)
    assert kept["serial"] == old_id  # the guest's disk keeps its serial
    if h.kind == "libvirt":  # the domain runs on the new volume; its persistent definition
        live, persistent = virsh_xml(UUID_V), virsh_xml(UUID_V, "--inactive")
        assert f"<source file='{new_path}'" in live  # (no hot-plugged volumes) names no old
        assert str(old_path) not in live + persistent
    h.driver.detach_volume(h.ctx, guest, {"serial": old_id}, "/dev/vde")
    copied = subprocess.run(
        ["qemu-io", "-f", "qcow2", "-c", "read -P 0x54 0 1", str(new_path)], capture_output=True
    )
    assert copied.returncode == 0 and b"Pattern verification failed" not in copied.stdout


def test_boot_from_volume(harness: Harness, test_image: Path) -> None:
    h = harness
    uuid = str(uuidlib.uuid4())
    volume_id = str(uuidlib.uuid4())
    root = h.state / "root-volume.qcow2"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(test_image),
         str(root), "1G"],
        check=True,
    )  # fmt: skip
    inst = h.instance(uuid, "tsq-bfv")
    bdm = BlockDevice(
        uuid=str(uuidlib.uuid4()),
        instance_uuid=uuid,
        source_type="image",
        boot_index=0,
        device_name="/dev/vda",
        volume_id=volume_id,
        connection_info=file_info(volume_id, root),
    )
    h.driver.spawn(h.ctx, inst, [], None, [bdm])
    try:
        h.wait_console(inst, READY, timeout=60)
        directory = h.driver.settings.instances / uuid
        assert not (directory / "disk.qcow2").exists()  # no local root disk
        assert defn(h, uuid).boot_volume is not None
        pid = h.driver.qemu_pid(uuid)
        assert pid is not None
        started = h.started_with(uuid, pid)
        if h.kind == "qemu":
            cmdline = (directory / "qemu.cmdline").read_text()
            assert '"bootindex":1' in cmdline and volume_id[:20] in cmdline
        else:
            assert f"<source file='{root}'" in started and "<boot order='1'/>" in started
        swap_boot_volume(h, inst, volume_id, root)
    finally:
        h.driver.destroy(h.ctx, inst, [])
    assert root.exists()  # the volume is not the driver's to delete


def swap_boot_volume(h: Harness, inst: InstanceMeta, volume_id: str, root: Path) -> None:
    """The running guest's boot volume swapped for a flat copy of it: the definition and
    (libvirt) the domain's persistent definition, which holds the volume, name the new one."""
    new = h.state / "root-volume-new.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(new), "1G"], check=True)
    h.driver.swap_volume(h.ctx, inst, file_info(volume_id, root), file_info(volume_id, new), "")
    boot = defn(h, inst.uuid).boot_volume
    assert boot is not None and boot.data["device_path"] == str(new)
    if h.kind == "libvirt":
        for xml in (virsh_xml(inst.uuid), virsh_xml(inst.uuid, "--inactive")):
            assert f"<source file='{new}'" in xml and f"'{root}'" not in xml
    assert h.driver.get_info(h.ctx, inst).power_state == states.RUNNING
