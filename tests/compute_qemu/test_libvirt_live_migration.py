"""Live migration between two libvirtds (:mod:`.libvirt_hosts`: two daemons on this
machine, each in its own mount namespace) with the libvirt driver, at the driver level
as :mod:`.test_live_migration` does for the QEMU driver: a memory-only migration between
two hosts sharing ``instances_path`` (force-completed: the guest is paused until the
destination runs it), and a block migration between two that do not, then back while
paused; each after an abort that leaves the guest running on the first host (and, on
shared storage, a failure: the first daemon cannot reach the second).

The guest is the QEMU driver test's (it writes random data into its root and ephemeral
disks and prints their checksums and its uptime every half second): the destination's
console must go on with the same sums and a later uptime; ``virsh list`` of the second
daemon shows the domain, the first's no longer has it; the domain's tinystack metadata
names the second host (a restarted agent adopts it there).
"""

from __future__ import annotations

import base64
import time
import uuid as uuidlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.compute_qemu import libvirt_hosts
from tests.compute_qemu.conftest import Harness, cleanup_state
from tests.compute_qemu.libvirt_hosts import LibvirtHost
from tests.compute_qemu.test_live_migration import SCRIPT, _sums
from tinystack.compute import states
from tinystack.compute.objects import InstanceMeta, LiveMigrateData, MigrationProgress
from tinystack.compute.virt.driver import DriverError, MigrationAborted
from tinystack.compute.virt.libvirt import connection
from tinystack.compute.virt.libvirt.driver import LibvirtDriver
from tinystack.compute.virt.qemu.definition import Definition
from tinystack.compute.virt.qemu.driver import QemuDriver
from tinystack.compute.virt.qemu.imagecache import FileImageSource
from tinystack.compute.virt.qemu.settings import QemuSettings

PREFIX = "tslm-"
SKIP = libvirt_hosts.skip_reason()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")
#: VNC ports: 10 per host from here, websockets 20 above
VNC_BASE = 21000
WEBSOCKET_OFFSET = 20


class Host(Harness):
    def __init__(
        self, state: Path, source: FileImageSource, daemon: LibvirtHost, shared: Path | None
    ) -> None:
        self.daemon, self.shared = daemon, shared
        self.name = f"tslm-host{daemon.index + 1}"
        super().__init__(state, source, "libvirt")

    def settings(self) -> QemuSettings:
        found = super().settings()
        found.vnc_port_min = VNC_BASE + 10 * self.daemon.index
        found.vnc_port_max = found.vnc_port_min + 9
        found.vnc_websocket_offset = WEBSOCKET_OFFSET
        found.instances_path = self.shared
        found.migration_address = self.daemon.address
        return found

    def new_driver(self) -> QemuDriver:
        driver = LibvirtDriver(
            self.name,
            self.settings(),
            self.source,
            uri=self.daemon.uri,
            prefix=PREFIX,
            migration_uri=self.daemon.migration_uri,
            run_dir=self.daemon.run_dir,
        )
        driver.init_host(self.ctx, self.name)
        return driver

    @property
    def libvirt(self) -> LibvirtDriver:
        assert isinstance(self.driver, LibvirtDriver)
        return self.driver


@pytest.fixture(scope="module")
def daemons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[LibvirtHost]]:
    with libvirt_hosts.libvirt_hosts(tmp_path_factory.mktemp("tslm-lv"), PREFIX) as found:
        yield found


def _hosts(
    tmp_path_factory: pytest.TempPathFactory,
    images: FileImageSource,
    daemons: list[LibvirtHost],
    shared: bool,
) -> Iterator[tuple[Host, Host]]:
    disks = tmp_path_factory.mktemp("tslm-shared") if shared else None
    states = [tmp_path_factory.mktemp(f"tslm-h{d.index + 1}") for d in daemons]
    try:
        yield (
            Host(states[0], images, daemons[0], disks),
            Host(states[1], images, daemons[1], disks),
        )
    finally:
        for daemon in daemons:
            libvirt_hosts.remove_domains(daemon, PREFIX)
        for state in states:
            cleanup_state(state, test_devices=False)


@pytest.fixture
def shared_hosts(
    tmp_path_factory: pytest.TempPathFactory, images: FileImageSource, daemons: list[LibvirtHost]
) -> Iterator[tuple[Host, Host]]:
    yield from _hosts(tmp_path_factory, images, daemons, shared=True)


@pytest.fixture
def local_hosts(
    tmp_path_factory: pytest.TempPathFactory, images: FileImageSource, daemons: list[LibvirtHost]
) -> Iterator[tuple[Host, Host]]:
    yield from _hosts(tmp_path_factory, images, daemons, shared=False)


def _prepare(src: Host, dst: Host, inst: InstanceMeta) -> LiveMigrateData:
    data = dst.driver.check_can_live_migrate_destination(dst.ctx, inst, None)
    try:
        data = src.driver.check_can_live_migrate_source(src.ctx, inst, data)
    finally:
        dst.driver.cleanup_live_migration_destination_check(dst.ctx, data)
    return dst.driver.pre_live_migration(dst.ctx, inst, [], [], data)


def _abort_leaves_it_on_the_source(
    src: Host, dst: Host, inst: InstanceMeta, before: tuple[str, str, float]
) -> tuple[str, str, float]:
    """A migration aborted at its first progress report (slowed down to be caught)."""
    data = _prepare(src, dst, inst)
    assert data.target["uri"] == dst.daemon.uri
    src.driver.settings.migration_bandwidth_mib = 4
    reports: list[MigrationProgress] = []

    def abort(report: MigrationProgress) -> None:
        reports.append(report)
        src.driver.live_migration_abort(src.ctx, inst)

    try:
        with pytest.raises(MigrationAborted):
            src.driver.live_migration(src.ctx, inst, data, abort)
    finally:
        src.driver.settings.migration_bandwidth_mib = 0
    dst.driver.rollback_live_migration_at_destination(dst.ctx, inst, [], data)
    # a block migration copies the disks first (libvirt's NBD mirrors), then the memory
    first = reports[0] if reports else None
    assert first is not None and (first.memory_total or first.disk_total) >= 256 * 1024**2
    name = f"{PREFIX}{inst.uuid}"
    assert libvirt_hosts.domains(src.daemon.uri) == {name: "running"}
    assert libvirt_hosts.domains(dst.daemon.uri) == {}
    assert not (dst.state / "instances" / inst.uuid).exists()
    again = _sums(src, inst, after=before[2])
    assert again[:2] == before[:2]
    return again


def _failure_leaves_it_on_the_source(src: Host, dst: Host, inst: InstanceMeta) -> None:
    """The source's libvirtd cannot reach the destination's: the guest runs on."""
    data = _prepare(src, dst, inst)
    unreachable = replace(data, target={**data.target, "uri": "qemu+tcp://127.0.0.1:1/system"})
    with pytest.raises(DriverError, match="live migration failed") as failed:
        src.driver.live_migration(src.ctx, inst, unreachable, lambda report: None)
    assert not isinstance(failed.value, MigrationAborted)
    dst.driver.rollback_live_migration_at_destination(dst.ctx, inst, [], data)
    assert libvirt_hosts.domains(src.daemon.uri) == {f"{PREFIX}{inst.uuid}": "running"}
    assert not (dst.state / "instances" / inst.uuid).exists()


def _migrate(
    src: Host, dst: Host, inst: InstanceMeta, force: bool = False
) -> tuple[MigrationProgress, float]:
    """Migrate (``force``: force-complete at the first progress report, which pauses the
    guest until the destination runs it)."""
    data = _prepare(src, dst, inst)
    reports: list[MigrationProgress] = []

    def report(progress: MigrationProgress) -> None:
        if force and not reports:
            src.driver.live_migration_force_complete(src.ctx, inst)
        reports.append(progress)

    started = time.monotonic()
    final = src.driver.live_migration(src.ctx, inst, data, report)
    dst.driver.post_live_migration_at_destination(dst.ctx, inst, [], data)
    took = time.monotonic() - started
    src.driver.post_live_migration(src.ctx, inst, [], data)
    assert reports, "no progress reported"
    return final, took


def _on_the_destination(src: Host, dst: Host, inst: InstanceMeta) -> None:
    name = f"{PREFIX}{inst.uuid}"
    assert libvirt_hosts.domains(dst.daemon.uri) == {name: "running"}
    assert libvirt_hosts.domains(src.daemon.uri) == {}
    # the metadata names the destination: its agent adopts the domain, the source's not
    assert dst.driver.list_instances(dst.ctx) == [inst.uuid]
    assert src.driver.list_instances(src.ctx) == []
    dom = dst.libvirt.machines.domain(inst.uuid)
    assert dom is not None and connection.metadata_host(dom) == dst.name
    persistent = ET.fromstring(dom.XMLDesc(connection.bindings().VIR_DOMAIN_XML_INACTIVE))
    assert dst.name in ET.tostring(persistent.find("metadata"), encoding="unicode")  # type: ignore[arg-type]
    assert dom.isPersistent()
    # what the destination does when the metadata does not name it
    lib = connection.bindings()
    other = "<instance><host>elsewhere</host></instance>"
    dom.setMetadata(lib.VIR_DOMAIN_METADATA_ELEMENT, other, "tinystack", connection.XMLNS,
                    lib.VIR_DOMAIN_AFFECT_LIVE)  # fmt: skip
    assert connection.metadata_host(dom) == "elsewhere"
    dst.libvirt.machines.set_metadata(dst.libvirt.vm.load(inst.uuid))
    assert connection.metadata_host(dom) == dst.name
    # the source is clean: no runtime files, no QEMU
    assert not (src.state / "instances" / inst.uuid).exists()
    assert len(libvirt_hosts.qemus_named(name)) == 1
    assert dst.driver.get_info(dst.ctx, inst).power_state == states.RUNNING


def test_shared_storage_live_migration(shared_hosts: tuple[Host, Host]) -> None:
    src, dst = shared_hosts
    uuid = str(uuidlib.uuid4())
    user_data = base64.b64encode(SCRIPT.encode()).decode()
    inst = src.instance(uuid, "tslm-sh", ephemeral_gb=1, user_data=user_data)
    src.driver.spawn(src.ctx, inst, [], None)
    assert src.shared is not None
    disk_dir = src.shared / uuid
    inodes = {p.name: p.stat().st_ino for p in disk_dir.glob("disk.*")}
    before = _sums(src, inst)
    again = _abort_leaves_it_on_the_source(src, dst, inst, before)
    _failure_leaves_it_on_the_source(src, dst, inst)

    final, took = _migrate(src, dst, inst, force=True)
    print(f"\nlibvirt shared-storage live migration: {took:.1f}s, downtime {final.downtime_ms} ms")
    assert final.memory_processed > 0 and final.disk_total == 0
    # forced: the downtime counts from the pause, not only the switch-over
    assert final.downtime_ms is not None, final
    _on_the_destination(src, dst, inst)
    assert {p.name: p.stat().st_ino for p in disk_dir.glob("disk.*")} == inodes
    defn = Definition.load(dst.state / "instances" / uuid)
    assert defn is not None and defn.disks == str(disk_dir)
    after = _sums(dst, inst, after=again[2])
    assert after[:2] == before[:2], (before, after)
    dst.driver.destroy(dst.ctx, inst, [])
    assert libvirt_hosts.domains(dst.daemon.uri) == {}
    assert not disk_dir.exists()


def test_block_live_migration(local_hosts: tuple[Host, Host]) -> None:
    src, dst = local_hosts
    uuid = str(uuidlib.uuid4())
    user_data = base64.b64encode(SCRIPT.encode()).decode()
    inst = src.instance(uuid, "tslm-bl", ephemeral_gb=1, user_data=user_data)
    src.driver.spawn(src.ctx, inst, [], None)
    before = _sums(src, inst)
    again = _abort_leaves_it_on_the_source(src, dst, inst, before)

    final, took = _migrate(src, dst, inst)
    print(f"\nlibvirt block live migration: {took:.1f}s, downtime {final.downtime_ms} ms")
    assert final.memory_processed > 0 and final.disk_total > 1024**3, final
    assert final.downtime_ms is not None and final.downtime_ms < 2000, final
    _on_the_destination(src, dst, inst)
    after = _sums(dst, inst, after=again[2])
    assert after[:2] == before[:2], (before, after)

    # back to the first host while paused: it stays paused there, runs on when unpaused
    dst.driver.pause(dst.ctx, inst)
    _migrate(dst, src, inst)
    assert libvirt_hosts.domains(src.daemon.uri) == {f"{PREFIX}{uuid}": "paused"}
    assert libvirt_hosts.domains(dst.daemon.uri) == {}
    src.driver.unpause(src.ctx, inst)
    back = _sums(src, inst, after=after[2])
    assert back[:2] == before[:2]
    src.driver.destroy(src.ctx, inst, [])
