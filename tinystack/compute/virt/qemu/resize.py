"""Resize and cold migration on this host: the ``<uuid>_resize`` copy of an instance.

The source keeps a copy of the instance directory until the resize is confirmed (the copy
is dropped) or reverted (the copy comes back). A copy whose instance was deleted meanwhile
is an orphan, removed after :data:`RESIZE_ORPHAN_SECONDS`.
"""

from __future__ import annotations

import shutil
import time

from tinystack.common.rpc.payload import JSON
from tinystack.compute.objects import VIF, FlavorMeta, InstanceMeta, MigrationMeta
from tinystack.compute.virt.driver import DriverError, DriverNotSupported
from tinystack.compute.virt.qemu import disks
from tinystack.compute.virt.qemu.definition import (
    CONFIG_DRIVE,
    EPHEMERAL_DISK,
    ROOT_DISK,
    STATE_FILE,
    SWAP_DISK,
    Definition,
    flavor_record,
    nic_for,
)
from tinystack.compute.virt.qemu.machine import Machines
from tinystack.compute.virt.qemu.settings import RESIZE_SUFFIX, GiB

#: an orphaned ``<uuid>_resize`` (its instance was deleted while resized) lives this long
RESIZE_ORPHAN_SECONDS = 600.0


class Resizes:
    """The resize copies of one host's instances."""

    def __init__(self, vm: Machines) -> None:
        self.vm = vm
        self._orphans: dict[str, float] = {}

    def hand_over(
        self, instance: InstanceMeta, migration: MigrationMeta, flavor: FlavorMeta
    ) -> dict[str, JSON]:
        """Power off and copy the instance directory aside (the source side)."""
        if migration.dest_host and migration.dest_host != self.vm.hostname:
            raise DriverNotSupported(
                "the QEMU driver resizes and migrates on the same host only "
                f"({self.vm.hostname} -> {migration.dest_host})"
            )
        with self.vm.locked(instance.uuid):
            defn = self.vm.load(instance.uuid)
            root = self.vm.dir(instance.uuid) / ROOT_DISK
            if (
                defn.boot_volume is None
                and flavor.root_gb
                and flavor.root_gb * GiB < disks.virtual_size(root)
            ):
                raise DriverError("the new flavor's root disk is smaller than the current one")
            self.vm.shutdown(defn, float(self.vm.settings.soft_reboot_timeout))
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

    def finish(self, instance: InstanceMeta, network_info: list[VIF], power_on: bool) -> None:
        """Give the instance its new flavor's disks (the destination side)."""
        with self.vm.locked(instance.uuid):
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

    def confirm(self, uuid: str) -> None:
        """Drop the copy."""
        with self.vm.locked(uuid):
            shutil.rmtree(self.vm.resize_dir(uuid), ignore_errors=True)
            self._orphans.pop(uuid, None)

    def revert(self, instance: InstanceMeta, network_info: list[VIF], power_on: bool) -> None:
        """Bring the copy back, with the old flavor."""
        with self.vm.locked(instance.uuid):
            directory = self.vm.dir(instance.uuid)
            backup = self.vm.resize_dir(instance.uuid)
            self.vm.kill(instance.uuid)
            if backup.is_dir():
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
                if (root / uuid).exists():
                    continue
                first_seen = self._orphans.setdefault(uuid, now)
                if now - first_seen >= RESIZE_ORPHAN_SECONDS:
                    shutil.rmtree(p, ignore_errors=True)
                    self._orphans.pop(uuid, None)
