"""Resize and cold migration: the ``<uuid>_resize`` copy of an instance.

The source keeps a copy of the instance directory until the resize is confirmed (the copy
is dropped) or reverted (the copy comes back). On the same host the copy is made beside
the instance; to another host the instance directory itself becomes the copy and its
disks are exported for the destination to pull (:mod:`.transfer`). A copy whose instance
was deleted meanwhile is an orphan, removed after :data:`RESIZE_ORPHAN_SECONDS`.
"""

from __future__ import annotations

import shutil
import time

from tinystack.common.rpc.payload import JSON
from tinystack.compute.objects import VIF, FlavorMeta, InstanceMeta, MigrationMeta
from tinystack.compute.virt.driver import DriverError, DriverNotSupported
from tinystack.compute.virt.qemu import disks, net, transfer
from tinystack.compute.virt.qemu.definition import (
    CONFIG_DRIVE,
    EPHEMERAL_DISK,
    ROOT_DISK,
    STATE_FILE,
    SWAP_DISK,
    Definition,
    flavor_record,
    nic_for,
    socket_paths,
)
from tinystack.compute.virt.qemu.machine import Machines
from tinystack.compute.virt.qemu.settings import RESIZE_SUFFIX, GiB

#: an orphaned ``<uuid>_resize`` (its instance was deleted while resized) lives this long
RESIZE_ORPHAN_SECONDS = 600.0
#: in a copy whose instance moved to another host (removed at confirm or revert only)
MOVED_MARKER = "moved-away"


class Resizes:
    """The resize copies of one host's instances."""

    def __init__(self, vm: Machines) -> None:
        self.vm = vm
        self._orphans: dict[str, float] = {}

    def hand_over(
        self, instance: InstanceMeta, migration: MigrationMeta, flavor: FlavorMeta
    ) -> dict[str, JSON]:
        """Power off and copy the instance directory aside (the source side); to another
        host, also export its disks (what the destination pulls)."""
        remote = bool(migration.dest_host) and migration.dest_host != self.vm.hostname
        with self.vm.locked(instance.uuid):
            defn = self.vm.load(instance.uuid)
            root = self.vm.dir(instance.uuid) / ROOT_DISK
            if remote and defn.volumes:
                raise DriverNotSupported(
                    "the QEMU driver moves instances with volumes on the same host only"
                )
            if (
                defn.boot_volume is None
                and flavor.root_gb
                and flavor.root_gb * GiB < disks.virtual_size(root)
            ):
                raise DriverError("the new flavor's root disk is smaller than the current one")
            self.vm.shutdown(defn, float(self.vm.settings.soft_reboot_timeout))
            if remote:
                return self._hand_over_remote(defn)
            directory = self.vm.dir(instance.uuid)
            (directory / STATE_FILE).unlink(missing_ok=True)
            backup = self.vm.resize_dir(instance.uuid)
            shutil.rmtree(backup, ignore_errors=True)
            backup.mkdir()
            names = [ROOT_DISK, EPHEMERAL_DISK, SWAP_DISK, CONFIG_DRIVE, "instance.json"]
            names += [p.name for p in directory.glob("volume-*.secret")]
            for name in names:
                if (directory / name).exists():
                    disks.copy(directory / name, backup / name)
            self._orphans.pop(instance.uuid, None)
        return {"instance_dir": str(directory), "backup_dir": str(backup)}

    def _hand_over_remote(self, defn: Definition) -> dict[str, JSON]:
        """The instance directory becomes the copy; its disks are exported from there."""
        directory = self.vm.dir(defn.uuid)
        (directory / STATE_FILE).unlink(missing_ok=True)
        backup = self.vm.resize_dir(defn.uuid)
        shutil.rmtree(backup, ignore_errors=True)
        directory.rename(backup)
        (backup / MOVED_MARKER).touch()
        self._orphans.pop(defn.uuid, None)
        s = self.vm.settings
        try:
            handed = transfer.export(backup, backup, s.my_ip, s.host_namespace)
        except DriverError:
            backup.rename(directory)
            raise
        return {**handed, "definition": defn.to_dict()}

    def _receive(self, instance: InstanceMeta, disk_info: dict[str, JSON]) -> None:
        """Pull the disks a source host exported into a new instance directory."""
        data = disk_info.get("definition")
        if not isinstance(data, dict):
            raise DriverError("the source handed over no instance definition")
        directory = self.vm.dir(instance.uuid)
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        try:
            transfer.pull(disk_info, directory, self.vm.settings.host_namespace)
            defn = Definition.from_dict(data)
            # the root disk arrived whole: no base image, no path of the source's
            defn.base = None
            defn.vnc_port, defn.serial_socket = None, ""
            defn.qmp_socket, defn.qmp_events_socket = socket_paths(
                directory, defn.uuid, self.vm.settings.short_socket_dir
            )
            defn.user_network = self.vm.settings.user_network
            defn.save(directory)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise

    def finish(
        self,
        instance: InstanceMeta,
        disk_info: dict[str, JSON],
        network_info: list[VIF],
        power_on: bool,
    ) -> None:
        """Give the instance its new flavor's disks (the destination side)."""
        with self.vm.locked(instance.uuid):
            if "exports" in disk_info:
                self._receive(instance, disk_info)
            defn = self.vm.load(instance.uuid)
            directory = self.vm.dir(instance.uuid)
            flavor = instance.flavor
            if flavor.root_gb and defn.boot_volume is None:
                disks.grow(directory / ROOT_DISK, flavor.root_gb * GiB)
            old_eph = int(defn.flavor.get("ephemeral_gb") or 0)
            if flavor.ephemeral_gb != old_eph:
                (directory / EPHEMERAL_DISK).unlink(missing_ok=True)
                if flavor.ephemeral_gb:
                    disks.create_ephemeral(directory / EPHEMERAL_DISK, flavor.ephemeral_gb)
            if int(flavor.swap) != int(defn.flavor.get("swap") or 0):
                (directory / SWAP_DISK).unlink(missing_ok=True)
                if flavor.swap:
                    disks.create_swap(directory / SWAP_DISK, flavor.swap)
            defn.flavor = flavor_record(flavor)
            defn.ephemeral, defn.swap = bool(flavor.ephemeral_gb), bool(flavor.swap)
            if network_info:
                defn.nics = [nic_for(v) for v in network_info]
            defn.save(directory)
            if power_on:
                self.vm.start(defn)

    def confirm(self, uuid: str, moved_away: bool) -> None:
        """Drop the copy; when the instance moved to another host, also its taps here."""
        with self.vm.locked(uuid):
            backup = self.vm.resize_dir(uuid)
            transfer.stop_exports(backup)
            if moved_away:
                old = Definition.load(backup)
                for nic in old.nics if old is not None else []:
                    net.delete_tap(nic.tap, self.vm.settings.host_namespace)
            shutil.rmtree(backup, ignore_errors=True)
            self._orphans.pop(uuid, None)

    def revert(self, instance: InstanceMeta, network_info: list[VIF], power_on: bool) -> None:
        """Bring the copy back, with the old flavor."""
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
            defn.flavor = flavor_record(instance.flavor)
            if network_info:
                defn.nics = [nic_for(v) for v in network_info]
            defn.save(directory)
            if power_on:
                self.vm.start(defn)

    def deleted(self, uuid: str) -> None:
        """The instance was deleted: its copy, if any, is an orphan from now on."""
        if self.vm.resize_dir(uuid).exists():
            self._orphans[uuid] = time.monotonic()

    def drop_orphans(self) -> None:
        """Remove the copies orphaned for longer than :data:`RESIZE_ORPHAN_SECONDS`."""
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
                    shutil.rmtree(p, ignore_errors=True)
                    self._orphans.pop(uuid, None)
