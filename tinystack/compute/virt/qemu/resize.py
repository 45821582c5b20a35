"""Resize and cold migration: the ``<uuid>_resize`` copy of an instance.

The source keeps a copy of the instance directory until the resize is confirmed (the copy
is dropped) or reverted (the copy comes back). On the same host the copy is made beside
the instance; to another host the instance directory itself becomes the copy and its
disks are exported for the destination to pull (:mod:`.transfer`). A copy whose instance
was deleted meanwhile is an orphan, removed after :data:`RESIZE_ORPHAN_SECONDS`.

Disks kept apart in ``[compute] instances_path`` (``Definition.disks``) have their copy
there too, ``<instances_path>/<uuid>_resize``, beside the runtime files' copy in the
host's own ``<uuid>_resize``. Hosts may share ``instances_path`` (as Nova's): the source
does not know whether the destination sees it, so, as Nova's ``_is_storage_shared_with``
but the other way round, it leaves a probe file in its disk copy and names it in what it
hands over; a destination that sees the probe copies the disks from there within the
shared directory (Nova's copy of ``inst_base_resize`` into ``inst_base`` on shared
storage: nothing crosses the network, the root overlay stays on the shared ``_base``),
takes them over (the ``.host`` file) and grows the root disk; any other pulls the NBD
exports. A revert puts the source's copy back in place (and takes the disks back), a
confirm drops it; the instance's disk directory itself is never the source's to remove.

Volumes: the agent ends the source's connections once the guest is off and hands the
destination (and, on revert, the source) block devices with fresh connection info for
its host; the definition's volumes are replaced by those (a driver-level call with none
keeps the definition's).

An RBD root disk (``images_type = rbd``) is shared by every host and does not move: as
Nova's, the destination snapshots it (``nova-resize``) before growing it, a confirm
removes that snapshot, a revert rolls the disk back to it.
"""

from __future__ import annotations

import shutil
import time
import uuid as uuidlib
from collections.abc import Sequence
from pathlib import Path

from tinystack.common.rpc.payload import JSON
from tinystack.compute.objects import (
    VIF,
    BlockDevice,
    FlavorMeta,
    InstanceMeta,
    MigrationMeta,
)
from tinystack.compute.virt.driver import DriverError
from tinystack.compute.virt.qemu import disks, net, transfer
from tinystack.compute.virt.qemu.definition import (
    CONFIG_DRIVE,
    DEFINITION_FILE,
    EPHEMERAL_DISK,
    ROOT_DISK,
    STATE_FILE,
    SWAP_DISK,
    Definition,
    flavor_record,
    nic_for,
    socket_paths,
)
from tinystack.compute.virt.qemu.hotplug import Volumes
from tinystack.compute.virt.qemu.machine import OWNER_FILE, Machines
from tinystack.compute.virt.qemu.rbd_roots import RbdRoots
from tinystack.compute.virt.qemu.settings import RESIZE_SUFFIX, GiB

#: an orphaned ``<uuid>_resize`` (its instance was deleted while resized) lives this long
RESIZE_ORPHAN_SECONDS = 600.0
#: in a copy whose instance moved to another host (removed at confirm or revert only)
MOVED_MARKER = "moved-away"
#: the probe file a source leaves in its disk copy in ``instances_path``
PROBE_PREFIX = ".resize-probe-"
#: the files of an instance's disk directory a resize keeps a copy of
DISK_FILES = (ROOT_DISK, EPHEMERAL_DISK, SWAP_DISK, CONFIG_DRIVE)


class Resizes:
    """The resize copies of one host's instances."""

    def __init__(self, vm: Machines, volumes: Volumes, rbd_roots: RbdRoots | None = None) -> None:
        self.vm = vm
        self.volumes = volumes
        self.rbd_roots = rbd_roots
        self._orphans: dict[str, float] = {}

    def disk_backup(self, defn: Definition) -> Path:
        """Where the copy of the instance's disks is: beside its disk directory in
        ``instances_path``, else the runtime files' copy itself."""
        if not defn.disks:
            return self.vm.resize_dir(defn.uuid)
        disk_dir = Path(defn.disks)
        return disk_dir.with_name(disk_dir.name + RESIZE_SUFFIX)

    # -- the source ----------------------------------------------------------------------------
    def hand_over(
        self, instance: InstanceMeta, migration: MigrationMeta, flavor: FlavorMeta
    ) -> dict[str, JSON]:
        """Power off and copy the instance directory aside (the source side); to another
        host, also export its disks (what the destination pulls, unless it shares them)."""
        remote = bool(migration.dest_host) and migration.dest_host != self.vm.hostname
        with self.vm.locked(instance.uuid):
            defn = self.vm.load(instance.uuid)
            root = defn.disk_dir(self.vm.dir(instance.uuid)) / ROOT_DISK
            if (
                defn.boot_volume is None
                and flavor.root_gb
                and flavor.root_gb * GiB < self._root_size(defn, root)
            ):
                raise DriverError("the new flavor's root disk is smaller than the current one")
            # the guest lets its volumes go with its QEMU: the agent ends their connections
            self.vm.shutdown(defn, float(self.vm.settings.soft_reboot_timeout))
            (self.vm.dir(instance.uuid) / STATE_FILE).unlink(missing_ok=True)
            self._orphans.pop(instance.uuid, None)
            if remote:
                return self._hand_over_remote(defn)
            return self._copy_aside(defn)

    def _root_size(self, defn: Definition, root: Path) -> int:
        if defn.root_rbd and self.rbd_roots is not None:
            return self.rbd_roots.size(defn.uuid)
        return disks.virtual_size(root)

    def _copy_aside(self, defn: Definition) -> dict[str, JSON]:
        """The same host: copies of the disks and the definition beside the instance."""
        directory = self.vm.dir(defn.uuid)
        backup, disk_backup = self.vm.resize_dir(defn.uuid), self.disk_backup(defn)
        for where in {backup, disk_backup}:
            shutil.rmtree(where, ignore_errors=True)
            where.mkdir()
        disk_dir = defn.disk_dir(directory)
        for name in DISK_FILES:
            if (disk_dir / name).exists():
                disks.copy(disk_dir / name, disk_backup / name)
        names = [DEFINITION_FILE, *(p.name for p in directory.glob("volume-*.secret"))]
        for name in names:
            if (directory / name).exists():
                disks.copy(directory / name, backup / name)
        return {"instance_dir": str(directory), "backup_dir": str(backup)}

    def _hand_over_remote(self, defn: Definition) -> dict[str, JSON]:
        """The instance directory becomes the copy (and its disk directory in
        ``instances_path`` the disks' copy, with a probe in it); its disks are exported
        from there."""
        directory, backup = self.vm.dir(defn.uuid), self.vm.resize_dir(defn.uuid)
        shutil.rmtree(backup, ignore_errors=True)
        directory.rename(backup)
        (backup / MOVED_MARKER).touch()
        disk_dir, disk_backup, probe = Path(defn.disks), self.disk_backup(defn), ""
        if defn.disks and disk_dir.is_dir():
            shutil.rmtree(disk_backup, ignore_errors=True)
            disk_dir.rename(disk_backup)
            probe = f"{PROBE_PREFIX}{uuidlib.uuid4().hex}"
            (disk_backup / probe).touch()
        s = self.vm.settings
        try:
            handed = transfer.export(disk_backup, backup, s.my_ip, s.host_namespace)
        except DriverError:
            if probe:
                (disk_backup / probe).unlink(missing_ok=True)
                disk_backup.rename(disk_dir)
            (backup / MOVED_MARKER).unlink(missing_ok=True)
            backup.rename(directory)
            raise
        return {**handed, "definition": defn.to_dict(), "shared_probe": probe}

    def confirm(self, uuid: str, moved_away: bool) -> None:
        """Drop the copy; when the instance moved to another host, also its taps here."""
        with self.vm.locked(uuid):
            backup = self.vm.resize_dir(uuid)
            transfer.stop_exports(backup)
            old = Definition.load(backup)
            if moved_away:
                for nic in old.nics if old is not None else []:
                    net.delete_tap(nic.tap, self.vm.settings.host_namespace)
            if old is not None and old.disks:
                shutil.rmtree(self.disk_backup(old), ignore_errors=True)
            shutil.rmtree(backup, ignore_errors=True)
            self._orphans.pop(uuid, None)
            if self.rbd_roots is not None:
                self.rbd_roots.resize_ended(uuid, revert=False)

    def revert(
        self,
        instance: InstanceMeta,
        network_info: list[VIF],
        power_on: bool,
        block_devices: Sequence[BlockDevice] = (),
    ) -> None:
        """Bring the copy back, with the old flavor (and the volumes of ``block_devices``,
        connected for this host again, when given)."""
        volumes = self.volumes.connected(block_devices)
        with self.vm.locked(instance.uuid):
            directory = self.vm.dir(instance.uuid)
            backup = self.vm.resize_dir(instance.uuid)
            self.vm.kill(instance.uuid)
            transfer.stop_exports(backup)
            if backup.is_dir():
                (backup / MOVED_MARKER).unlink(missing_ok=True)
                old = Definition.load(directory)
                if old is not None:
                    self.vm.cleanup_sockets(old)
                shutil.rmtree(directory, ignore_errors=True)
                backup.rename(directory)
            self._orphans.pop(instance.uuid, None)
            defn = self.vm.load(instance.uuid)
            self._restore_disks(defn)
            if defn.root_rbd and self.rbd_roots is not None:
                self.rbd_roots.resize_ended(instance.uuid, revert=True)
            defn.flavor = flavor_record(instance.flavor)
            if network_info:
                defn.nics = [nic_for(v) for v in network_info]
            if volumes is not None:
                defn.set_volumes(volumes)
            defn.save(directory)
            if power_on:
                self.vm.start(defn)

    def _restore_disks(self, defn: Definition) -> None:
        """Put the copy of the disks in ``instances_path`` back in place (whatever the
        destination left there goes) and take the disks back."""
        if not defn.disks:
            return
        disk_dir, disk_backup = Path(defn.disks), self.disk_backup(defn)
        if disk_backup.is_dir():
            shutil.rmtree(disk_dir, ignore_errors=True)
            disk_backup.rename(disk_dir)
        for probe in disk_dir.glob(f"{PROBE_PREFIX}*"):
            probe.unlink(missing_ok=True)
        self.vm.claim_disks(defn.uuid)

    # -- the destination -----------------------------------------------------------------------
    def _shared_copy(self, uuid: str, disk_info: dict[str, JSON]) -> Path | None:
        """The source's copy of the disks when this host sees it (a shared
        ``instances_path``: the source's probe is there)."""
        probe = disk_info.get("shared_probe")
        if not isinstance(probe, str) or not probe.startswith(PROBE_PREFIX) or "/" in probe:
            return None
        if not self.vm.settings.shared_disks:
            return None
        copy = self.vm.disk_dir(uuid).with_name(f"{uuid}{RESIZE_SUFFIX}")
        return copy if (copy / probe).is_file() else None

    def _receive(self, instance: InstanceMeta, disk_info: dict[str, JSON]) -> None:
        """A new instance directory with the disks the source handed over: copied from its
        copy in a shared ``instances_path``, else pulled from its exports."""
        data = disk_info.get("definition")
        if not isinstance(data, dict):
            raise DriverError("the source handed over no instance definition")
        directory, local = self.vm.dir(instance.uuid), self.vm.disk_dir(instance.uuid)
        shared = self._shared_copy(instance.uuid, disk_info)
        for where in {directory, local}:
            shutil.rmtree(where, ignore_errors=True)
            where.mkdir(parents=True)
        try:
            defn = Definition.from_dict(data)
            if shared is not None:
                # the same files system: the root overlay keeps its base in the shared _base
                for name in DISK_FILES:
                    if (shared / name).is_file():
                        disks.copy(shared / name, local / name)
            else:
                transfer.pull(disk_info, local, self.vm.settings.host_namespace)
                defn.base = None  # the root disk arrived whole: no base image of the source's
            defn.disks = str(local) if local != directory else ""
            defn.vnc_port, defn.serial_socket = None, ""
            defn.qmp_socket, defn.qmp_events_socket = socket_paths(
                directory, defn.uuid, self.vm.settings.short_socket_dir
            )
            defn.user_network = self.vm.settings.user_network
            defn.save(directory)
            self.vm.claim_disks(instance.uuid)
        except BaseException:
            for where in {directory, local}:
                shutil.rmtree(where, ignore_errors=True)
            raise

    def finish(
        self,
        instance: InstanceMeta,
        disk_info: dict[str, JSON],
        network_info: list[VIF],
        power_on: bool,
        block_devices: Sequence[BlockDevice] = (),
    ) -> None:
        """Give the instance its new flavor's disks (the destination side), and the
        volumes of ``block_devices``, connected for this host, when given."""
        volumes = self.volumes.connected(block_devices)
        with self.vm.locked(instance.uuid):
            if "exports" in disk_info:
                self._receive(instance, disk_info)
            defn = self.vm.load(instance.uuid)
            directory = self.vm.dir(instance.uuid)
            self._new_disks(defn, defn.disk_dir(directory), instance.flavor)
            defn.flavor = flavor_record(instance.flavor)
            if network_info:
                defn.nics = [nic_for(v) for v in network_info]
            if volumes is not None:
                defn.set_volumes(volumes)
            defn.save(directory)
            if power_on:
                self.vm.start(defn)

    def _new_disks(self, defn: Definition, disk_dir: Path, flavor: FlavorMeta) -> None:
        """Grow the root disk, make the ephemeral and swap disks of the new flavor."""
        if defn.root_rbd and self.rbd_roots is not None:
            self.rbd_roots.resize_started(defn.uuid, flavor.root_gb * GiB)
            # this host's view of the shared disk (its monitors, its keyring)
            defn.root_rbd = self.rbd_roots.disk(defn.uuid).to_dict()
        elif flavor.root_gb and defn.boot_volume is None:
            disks.grow(disk_dir / ROOT_DISK, flavor.root_gb * GiB)
        old_eph = int(defn.flavor.get("ephemeral_gb") or 0)
        if flavor.ephemeral_gb != old_eph:
            (disk_dir / EPHEMERAL_DISK).unlink(missing_ok=True)
            if flavor.ephemeral_gb:
                disks.create_ephemeral(disk_dir / EPHEMERAL_DISK, flavor.ephemeral_gb)
        if int(flavor.swap) != int(defn.flavor.get("swap") or 0):
            (disk_dir / SWAP_DISK).unlink(missing_ok=True)
            if flavor.swap:
                disks.create_swap(disk_dir / SWAP_DISK, flavor.swap)
        defn.ephemeral, defn.swap = bool(flavor.ephemeral_gb), bool(flavor.swap)

    # -- orphans -------------------------------------------------------------------------------
    def deleted(self, uuid: str) -> None:
        """The instance was deleted: its copy, if any, is an orphan from now on."""
        if self.vm.resize_dir(uuid).exists():
            self._orphans[uuid] = time.monotonic()

    def drop_orphans(self) -> None:
        """Remove the copies orphaned for longer than :data:`RESIZE_ORPHAN_SECONDS` (with
        their disks' copy in ``instances_path``)."""
        now = time.monotonic()
        root = self.vm.settings.instances
        if root.is_dir():
            for p in root.iterdir():
                if not p.name.endswith(RESIZE_SUFFIX):
                    continue
                uuid = p.name[: -len(RESIZE_SUFFIX)]
                if (root / uuid).exists() or (p / MOVED_MARKER).exists():
                    continue
                first_seen = self._orphans.setdefault(uuid, now)
                if now - first_seen >= RESIZE_ORPHAN_SECONDS:
                    old = Definition.load(p)
                    if old is not None and old.disks and self._owns_copy(old):
                        shutil.rmtree(self.disk_backup(old), ignore_errors=True)
                    shutil.rmtree(p, ignore_errors=True)
                    self._orphans.pop(uuid, None)

    def _owns_copy(self, defn: Definition) -> bool:
        """Whether the disks' copy in ``instances_path`` is this host's (a host sharing it
        may have taken the disks back and resized them since)."""
        try:
            owner = (self.disk_backup(defn) / OWNER_FILE).read_text().strip()
        except OSError:
            return True
        return owner in ("", self.vm.hostname)
