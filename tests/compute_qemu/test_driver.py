"""The QEMU driver on real guests (the test image under TCG), one life cycle per test module.

The tests run in order on one guest (``A``): boot with a config drive, pause, reboots,
power off/on, suspend/resume, snapshot (booted as ``B``), rebuild, resize (confirm and
revert), rescue, adoption by a new driver object, a killed QEMU, destroy and the cache.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import signal
import subprocess
import time
import uuid as uuidlib
from pathlib import Path

import pytest

from tests.compute_qemu import libvirt_host
from tests.compute_qemu.conftest import READY, TEST_TAP_PREFIX, Harness
from tests.network_dataplane.support import PATIENCE
from tinystack.common.qmp import command as qmp
from tinystack.compute import states
from tinystack.compute.objects import VIF, ImageMeta, InstanceMeta, MigrationMeta
from tinystack.compute.virt.driver import DriverError, InstanceNotOnHost
from tinystack.compute.virt.qemu import process
from tinystack.compute.virt.qemu.definition import CONSOLE_LOG, Definition
from tinystack.guest.scripts import INIT_MARKER

UUID_A = str(uuidlib.uuid4())
UUID_B = str(uuidlib.uuid4())

#: the libvirt driver passes the same tests (see conftest)
DRIVERS = ("qemu", "libvirt")
#: what `make test` runs under libvirt: all but the ISO boot (its own guest, and nothing
#: libvirt-specific beyond a cdrom disk); the others share one guest, in order
LIBVIRT_SUBSET = {
    "test_rebuild",
    "test_spawn_with_config_drive",
    "test_virsh_shows_the_guest",
    "test_pause_unpause",
    "test_soft_and_hard_reboot",
    "test_power_off_and_on",
    "test_suspend_resume_keeps_uptime",
    "test_snapshot_boots_another_instance",
    "test_resize_confirm_and_revert",
    "test_rescue_and_unrescue",
    "test_adopt_after_restart",
    "test_killed_qemu_reports_shutoff",
    "test_destroy_keeps_cache_then_cleanup",
    "test_taps_ephemeral_swap_and_interface_hotplug",
    "test_checksum_mismatch_refused",
}
#: prints the guest's uptime every second, so a resume can show the clock went on
UPTIME_SCRIPT = (
    "#!/bin/sh\nwhile true; do echo \"UPTIME=$(cut -d' ' -f1 /proc/uptime)\"; sleep 1; done\n"
)
UPTIME_B64 = base64.b64encode(UPTIME_SCRIPT.encode()).decode()


def info(h: Harness, inst: InstanceMeta) -> int:
    return h.driver.get_info(h.ctx, inst).power_state


def defn(h: Harness, uuid: str) -> Definition:
    found = Definition.load(h.driver.settings.instances / uuid)
    assert found is not None
    return found


def status(h: Harness, uuid: str) -> str:
    return str(qmp(defn(h, uuid).qmp_socket, "query-status")["status"])


def memory_mib(h: Harness, uuid: str) -> int:
    return int(qmp(defn(h, uuid).qmp_socket, "query-memory-size-summary")["base-memory"]) >> 20


def uptimes(h: Harness, inst: InstanceMeta) -> list[float]:
    return [float(v) for v in re.findall(r"UPTIME=([0-9.]+)", h.console(inst))]


@pytest.fixture(scope="module")
def guest_a(harness: Harness) -> InstanceMeta:
    return harness.instance(UUID_A, "tsq-alpha", user_data=UPTIME_B64)


def test_spawn_with_config_drive(harness: Harness, guest_a: InstanceMeta) -> None:
    h = harness
    started = time.monotonic()
    h.driver.spawn(h.ctx, guest_a, [], None)
    spawned = time.monotonic() - started
    pid = h.driver.qemu_pid(UUID_A)
    assert pid is not None and process.is_ours(pid, UUID_A)
    assert info(h, guest_a) == states.RUNNING
    ready = h.wait_console(guest_a, rf"{READY} hostname=(\S+) instance-id=(\S+)", timeout=30)
    print(f"\nspawn {spawned:.2f}s, boot marker {time.monotonic() - started:.1f}s")
    assert ready[0] == ("tsq-alpha", UUID_A)
    assert "TINYSTACK-GUEST-METADATA source=config-drive" in h.console(guest_a)
    directory = h.driver.settings.instances / UUID_A
    for name in ("disk.qcow2", "disk.config", "console.log", "qemu.pid", "instance.json"):
        assert (directory / name).exists(), name
    cmdline = process.cmdline(pid)
    if h.kind == "qemu":  # a libvirtd starts its QEMUs its own way
        assert "-daemonize" in cmdline and "pc" in cmdline and "tcg" in cmdline
    assert UUID_A in h.driver.list_instances(h.ctx)
    # the overlay sits on the shared cache and was grown to the flavor's 1 GiB
    disk = json.loads(
        subprocess.run(
            ["qemu-img", "info", "-U", "--output=json", str(directory / "disk.qcow2")],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert disk["virtual-size"] == 1024**3
    assert disk["backing-filename"] == str(h.driver.settings.image_cache / "img-test")
    vnc = h.driver.get_vnc_console(h.ctx, guest_a)
    assert vnc.host == "127.0.0.1" and 15900 <= vnc.port <= 15999


def test_virsh_shows_the_guest(harness: Harness, guest_a: InstanceMeta) -> None:
    """Under the libvirt driver the guest is a domain ``virsh`` knows: named by the prefix,
    TCG (domain type qemu), tinystack's metadata naming the host and the directory."""
    h = harness
    if h.kind != "libvirt":
        pytest.skip("libvirt driver only")
    name = f"{libvirt_host.PREFIX}{UUID_A}"
    virsh = ["virsh", "-c", libvirt_host.URI]
    listed = subprocess.run([*virsh, "list", "--name"], capture_output=True, text=True)
    assert name in listed.stdout.split()
    xml = subprocess.run([*virsh, "dumpxml", name], capture_output=True, text=True).stdout
    assert "<domain type='qemu'" in xml and f"<uuid>{UUID_A}</uuid>" in xml
    assert "<tinystack:host>qemu-test-host</tinystack:host>" in xml
    assert str(h.driver.settings.instances / UUID_A / "console.log") in xml


def test_pause_unpause(harness: Harness, guest_a: InstanceMeta) -> None:
    h = harness
    h.driver.pause(h.ctx, guest_a)
    assert status(h, UUID_A) == "paused"
    assert info(h, guest_a) == states.POWER_PAUSED
    h.driver.unpause(h.ctx, guest_a)
    assert status(h, UUID_A) == "running"
    assert info(h, guest_a) == states.RUNNING


def test_soft_and_hard_reboot(harness: Harness, guest_a: InstanceMeta) -> None:
    h = harness
    pid = h.driver.qemu_pid(UUID_A)
    started = time.monotonic()
    h.driver.reboot(h.ctx, guest_a, [], hard=False)
    print(f"\nsoft reboot acknowledged (RESET) in {time.monotonic() - started:.1f}s")
    assert "TINYSTACK-GUEST-SHUTDOWN reason=requested" in h.console(guest_a)
    h.wait_console(guest_a, READY, count=2)
    h.driver.reboot(h.ctx, guest_a, [], hard=True)
    h.wait_console(guest_a, READY, count=3)
    assert h.driver.qemu_pid(UUID_A) == pid  # resets, not new processes
    assert h.console(guest_a).count(INIT_MARKER) == 3


def test_power_off_and_on(harness: Harness, guest_a: InstanceMeta) -> None:
    h = harness
    started = time.monotonic()
    h.driver.power_off(h.ctx, guest_a, timeout=30)
    print(f"\nclean power off in {time.monotonic() - started:.1f}s")
    assert "TINYSTACK-GUEST-SHUTDOWN reason=acpi-power-button" in h.console(guest_a)
    assert h.driver.qemu_pid(UUID_A) is None
    assert info(h, guest_a) == states.SHUTDOWN
    h.driver.power_on(h.ctx, guest_a, [])
    assert info(h, guest_a) == states.RUNNING
    h.wait_console(guest_a, READY, count=4)


def test_suspend_resume_keeps_uptime(harness: Harness, guest_a: InstanceMeta) -> None:
    h = harness
    deadline = time.monotonic() + 20 * PATIENCE
    while len(uptimes(h, guest_a)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    # suspend right after a report, so the guest's uptime then is known to within a poll
    # (under load one turn of its loop can take several seconds of guest time)
    seen = len(uptimes(h, guest_a))
    while len(uptimes(h, guest_a)) == seen and time.monotonic() < deadline:
        time.sleep(0.1)
    last_seen = time.monotonic()
    before_boots = h.console(guest_a).count(INIT_MARKER)
    h.driver.suspend(h.ctx, guest_a)
    print(f"\nsuspend {time.monotonic() - last_seen:.2f}s")
    last = max(uptimes(h, guest_a))
    assert h.driver.qemu_pid(UUID_A) is None
    assert info(h, guest_a) == states.POWER_SUSPENDED
    state = h.driver.settings.instances / UUID_A / "memory.state"
    assert state.is_file()
    time.sleep(5)  # suspended time does not count as guest uptime
    started = time.monotonic()
    h.driver.resume(h.ctx, guest_a, [])
    print(f"resume {time.monotonic() - started:.2f}s")
    assert status(h, UUID_A) == "running"
    assert info(h, guest_a) == states.RUNNING
    assert not state.exists()
    # Every report before the suspend is <= last, so the smallest value above it is the
    # first report after the resume (counting lines is not enough: the console may be
    # re-read from the start, so positions shift).
    deadline = time.monotonic() + 30 * PATIENCE
    while not [u for u in uptimes(h, guest_a) if u > last] and time.monotonic() < deadline:
        time.sleep(0.1)
    after_seen = time.monotonic()
    after = min(u for u in uptimes(h, guest_a) if u > last)
    # the guest's clock went on by the time it ran, which is the wall-clock time between
    # the two reports less the 5 s (and more) it was suspended; counting the suspended
    # time would make it the whole wall-clock time (polls see a report within ~0.3 s)
    assert after - last < after_seen - last_seen - 3, (last, after, after_seen - last_seen)
    assert h.console(guest_a).count(INIT_MARKER) == before_boots  # no new boot


def test_snapshot_boots_another_instance(harness: Harness, guest_a: InstanceMeta) -> None:
    h = harness
    started = time.monotonic()
    image = h.driver.snapshot(h.ctx, guest_a)
    assert image is not None  # a file root disk's snapshot is uploaded
    data = b"".join(image.chunks)
    print(f"\nsnapshot {len(data) / 1e6:.1f} MB in {time.monotonic() - started:.2f}s")
    assert image.disk_format == "qcow2" and data[:4] == b"QFI\xfb"
    assert status(h, UUID_A) == "running"  # paused only while copying
    assert not list((h.driver.settings.instances / UUID_A).glob(".snapshot-*"))
    snap = h.state / "snapshot.qcow2"
    snap.write_bytes(data)
    h.source.add("img-snap", snap)
    guest_b = h.instance(UUID_B, "tsq-bravo", image="img-snap")
    h.driver.spawn(h.ctx, guest_b, [], None)
    try:
        ready = h.wait_console(guest_b, rf"{READY} hostname=(\S+) instance-id=(\S+)")
        assert ready[0] == ("tsq-bravo", UUID_B)
    finally:
        h.driver.destroy(h.ctx, guest_b, [])
    assert h.driver.qemu_pid(UUID_B) is None


def test_rebuild(harness: Harness, guest_a: InstanceMeta) -> None:
    h = harness
    rebuilt = h.instance(UUID_A, "tsq-alpha", image="img-test-2", user_data=UPTIME_B64)
    # the console log file is appended to: the rebuilt guest's READY comes after what is
    # there now (the console output is only the log's tail, so boots can't be counted in it)
    log = h.driver.vm.dir(UUID_A) / CONSOLE_LOG
    seen = log.stat().st_size
    h.driver.rebuild(h.ctx, rebuilt, [], None)
    assert defn(h, UUID_A).image_id == "img-test-2"
    deadline = time.monotonic() + 90
    while READY.encode() not in log.read_bytes()[seen:]:
        assert time.monotonic() < deadline, log.read_bytes()[seen:][-2500:]
        time.sleep(0.5)


def test_resize_confirm_and_revert(harness: Harness, guest_a: InstanceMeta) -> None:
    h = harness
    assert memory_mib(h, UUID_A) == 256
    bigger = h.instance(UUID_A, "tsq-alpha", memory_mb=384, image="img-test-2", root_gb=2)
    mig = MigrationMeta(str(uuidlib.uuid4()), "qemu-test-host", "qemu-test-host", "resize")
    disk_info = h.driver.migrate_disk_and_power_off(h.ctx, guest_a, mig, bigger.flavor, [])
    assert h.driver.qemu_pid(UUID_A) is None
    h.driver.finish_migration(h.ctx, bigger, mig, disk_info, [], True)
    assert memory_mib(h, UUID_A) == 384
    h.driver.confirm_migration(h.ctx, bigger, mig, [])
    assert not Path(str(disk_info["backup_dir"])).exists()

    # a second resize, reverted: the agent destroys the new copy, then restores the old
    biggest = h.instance(UUID_A, "tsq-alpha", memory_mb=512, image="img-test-2", root_gb=2)
    mig2 = MigrationMeta(str(uuidlib.uuid4()), "qemu-test-host", "qemu-test-host", "resize")
    disk_info = h.driver.migrate_disk_and_power_off(h.ctx, bigger, mig2, biggest.flavor, [])
    h.driver.finish_migration(h.ctx, biggest, mig2, disk_info, [], True)
    assert memory_mib(h, UUID_A) == 512
    h.driver.destroy(h.ctx, biggest, [])
    h.driver.finish_revert_migration(h.ctx, bigger, mig2, [], True)
    assert memory_mib(h, UUID_A) == 384
    assert defn(h, UUID_A).flavor["memory_mb"] == 384
    assert not Path(str(disk_info["backup_dir"])).exists()
    h.wait_console(guest_a, READY, count=h.console(guest_a).count(INIT_MARKER))


def test_rescue_and_unrescue(harness: Harness, guest_a: InstanceMeta) -> None:
    h = harness
    h.driver.rescue(h.ctx, guest_a, [], None, None)
    pid = h.driver.qemu_pid(UUID_A)
    assert pid is not None
    args = h.started_with(UUID_A, pid)
    directory = h.driver.settings.instances / UUID_A
    assert args.index(str(directory / "disk.rescue")) < args.index(str(directory / "disk.qcow2"))
    h.driver.unrescue(h.ctx, guest_a)
    pid = h.driver.qemu_pid(UUID_A)
    assert pid is not None and "disk.rescue" not in h.started_with(UUID_A, pid)
    assert not (directory / "disk.rescue").exists()
    h.wait_console(guest_a, READY, count=h.console(guest_a).count(INIT_MARKER))


def test_adopt_after_restart(harness: Harness, guest_a: InstanceMeta) -> None:
    h = harness
    pid = h.driver.qemu_pid(UUID_A)
    fresh = h.new_driver()  # what a restarted agent builds
    assert UUID_A in fresh.list_instances(h.ctx)
    fresh.recover_instance(h.ctx, guest_a, states.RUNNING)
    assert fresh.get_info(h.ctx, guest_a).power_state == states.RUNNING
    assert fresh.qemu_pid(UUID_A) == pid  # the same QEMU, not a second one
    h.driver = fresh


def test_killed_qemu_reports_shutoff(harness: Harness, guest_a: InstanceMeta) -> None:
    h = harness
    pid = h.driver.qemu_pid(UUID_A)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert process.wait_gone(pid, UUID_A, 10)
    assert info(h, guest_a) == states.SHUTDOWN
    fresh = h.new_driver()
    fresh.recover_instance(h.ctx, guest_a, states.RUNNING)
    assert fresh.qemu_pid(UUID_A) is None  # not restarted behind the user's back
    assert fresh.get_info(h.ctx, guest_a).power_state == states.SHUTDOWN


def test_destroy_keeps_cache_then_cleanup(harness: Harness, guest_a: InstanceMeta) -> None:
    h = harness
    h.driver.power_on(h.ctx, guest_a, [])
    pid = h.driver.qemu_pid(UUID_A)
    assert pid is not None
    started = time.monotonic()
    h.driver.destroy(h.ctx, guest_a, [])
    print(f"\ndestroy {time.monotonic() - started:.2f}s")
    assert not process.is_ours(pid, UUID_A)
    assert not (h.driver.settings.instances / UUID_A).exists()
    with pytest.raises(InstanceNotOnHost):
        h.driver.get_info(h.ctx, guest_a)
    cache = h.driver.settings.image_cache
    assert {"img-test", "img-test-2"} <= set(h.driver.cache.entries())
    assert h.driver.cleanup() == []  # recently used: kept
    removed = h.driver.cleanup(max_age=0)
    assert set(removed) >= {"img-test", "img-test-2"}
    assert not (cache / "img-test").exists()


def test_taps_ephemeral_swap_and_interface_hotplug(harness: Harness) -> None:
    """One tap per port (name, MAC), flavor disks, attach/detach of a second port."""
    h = harness
    uuid = str(uuidlib.uuid4())
    port_1 = TEST_TAP_PREFIX[3:] + "-1234-5678-9abc-def012345678"
    port_2 = TEST_TAP_PREFIX[3:] + "-2222-5678-9abc-def012345678"
    vif_1 = VIF(id=port_1, address="fa:16:3e:12:34:56", network_id="net-test")
    vif_2 = VIF(id=port_2, address="fa:16:3e:65:43:21", network_id="net-test")
    tap_1, tap_2 = "tap" + port_1[:11], "tap" + port_2[:11]
    assert tap_1 != tap_2
    inst = h.instance(uuid, "tsq-tap", ephemeral_gb=1, swap=64)
    h.driver.spawn(h.ctx, inst, [vif_1], None)
    directory = h.driver.settings.instances / uuid
    try:
        sysfs = Path("/sys/class/net") / tap_1
        assert sysfs.exists()
        assert (sysfs / "address").read_text().strip() == "fe:16:3e:12:34:56"
        filters = qmp(defn(h, uuid).qmp_socket, "query-rx-filter")
        assert [f["main-mac"] for f in filters] == ["fa:16:3e:12:34:56"]
        pid = h.driver.qemu_pid(uuid)
        assert pid is not None
        args = h.started_with(uuid, pid)
        assert f"ifname={tap_1}" in args or f"<target dev='{tap_1}' managed='no'/>" in args
        assert "disk.eph0" in args and "disk.swap" in args
        assert (directory / "disk.eph0").stat().st_size == 1024**3
        assert (directory / "disk.swap").stat().st_size == 64 * 1024**2

        # hot plug needs the guest's ACPI up (DHCP on the unbridged tap times out first)
        h.wait_console(inst, READY, timeout=60)
        h.driver.attach_interface(h.ctx, inst, vif_2)
        assert (Path("/sys/class/net") / tap_2).exists()
        macs = {f["main-mac"] for f in qmp(defn(h, uuid).qmp_socket, "query-rx-filter")}
        assert macs == {"fa:16:3e:12:34:56", "fa:16:3e:65:43:21"}
        assert [n.port_id for n in defn(h, uuid).nics] == [port_1, port_2]
        h.driver.detach_interface(h.ctx, inst, vif_2)
        assert not (Path("/sys/class/net") / tap_2).exists()
        macs = {f["main-mac"] for f in qmp(defn(h, uuid).qmp_socket, "query-rx-filter")}
        assert macs == {"fa:16:3e:12:34:56"}
    finally:
        h.driver.destroy(h.ctx, inst, [vif_1])
    assert not (Path("/sys/class/net") / tap_1).exists()
    assert not (Path("/sys/class/net") / tap_2).exists()


def test_checksum_mismatch_refused(harness: Harness, test_image: Path) -> None:
    h = harness
    record = h.source.add("img-bad", test_image)
    record["os_hash_value"] = hashlib.sha512(b"something else").hexdigest()
    h.source.images["img-bad"] = (test_image, record)
    inst = h.instance(str(uuidlib.uuid4()), "tsq-bad", image="img-bad")
    with pytest.raises(DriverError, match="mismatch"):
        h.driver.spawn(h.ctx, inst, [], None)
    assert not (h.driver.settings.instances / inst.uuid).exists()
    assert "img-bad" not in h.driver.cache.entries()


def test_iso_image_boots_from_cdrom(harness: Harness, test_image: Path) -> None:
    """An ``iso`` image is a CD-ROM; the root disk starts blank."""
    h = harness
    iso = h.state / "tinystack-test.iso"
    subprocess.run(
        ["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(test_image), str(iso)], check=True
    )
    h.source.add("img-iso", iso, disk_format="iso")
    inst = h.instance(str(uuidlib.uuid4()), "tsq-iso", image="img-iso")
    inst = dataclasses.replace(inst, image=ImageMeta(id="img-iso", disk_format="iso"))
    h.driver.spawn(h.ctx, inst, [], None)
    try:
        ready = h.wait_console(inst, rf"{READY} hostname=(\S+) instance-id=(\S+)")
        assert ready[0] == ("tsq-iso", inst.uuid)
        pid = h.driver.qemu_pid(inst.uuid)
        assert pid is not None
        args = h.started_with(inst.uuid, pid)
        assert "media=cdrom" in args or ("device='cdrom'" in args and "/img-iso'" in args)
    finally:
        h.driver.destroy(h.ctx, inst, [])
