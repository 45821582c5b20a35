"""Attaching, detaching, growing and swapping the volumes of one host's guests.

One :class:`Volumes` per driver, working under the instance's lock: a running guest gets
the change over QMP (:mod:`.volumes`), and the instance's definition always records it, so
a guest started again (power on, hard reboot after QEMU exited, a restart of the host)
opens the same volumes from its command line.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tinystack.common.rpc.payload import JSON
from tinystack.compute.objects import BlockDevice
from tinystack.compute.virt.driver import DriverError, DriverNotSupported
from tinystack.compute.virt.qemu import disks
from tinystack.compute.virt.qemu import volumes as vols
from tinystack.compute.virt.qemu.definition import Definition
from tinystack.compute.virt.qemu.machine import Machines
from tinystack.compute.virt.qemu.volumes import VolumeDisk


class Volumes:
    """The volumes of the guests of one host."""

    def __init__(self, vm: Machines) -> None:
        self.vm = vm

    @property
    def initiator(self) -> str:
        """This host's iSCSI initiator name (one per host, as os-brick's)."""
        return f"iqn.2010-10.org.openstack:{self.vm.hostname}"

    def keyring(self, connection_info: dict[str, JSON]) -> str:
        """This host's keyring for an rbd volume's ``secret_uuid`` (Nova's libvirt secret
        of ``[libvirt] rbd_secret_uuid``), or ""."""
        data = connection_info.get("data")
        settings = self.vm.settings
        if connection_info.get("driver_volume_type") != "rbd" or not isinstance(data, dict):
            return ""
        if not settings.rbd_keyring or data.get("secret_uuid") != settings.rbd_secret_uuid:
            return ""
        return settings.rbd_keyring

    def disk_of(self, bdm: BlockDevice) -> VolumeDisk:
        """A connected block device as the definition keeps it (what QEMU cannot open is
        refused here, before anything starts)."""
        if not bdm.connection_info:
            raise DriverError(f"volume {bdm.volume_id} has no connection info")
        info = dict(bdm.connection_info)
        serial = str(info.get("serial") or bdm.volume_id or "")
        disk = VolumeDisk(
            serial,
            bdm.device_name or "",
            info,
            boot=bdm.is_root,
            initiator=self.initiator,
            keyring=self.keyring(info),
        )
        vols.nodes(disk)
        return disk

    def connected(self, block_devices: Sequence[BlockDevice]) -> list[VolumeDisk] | None:
        """The volumes of ``block_devices`` (a move's, connected for this host) as the
        definition keeps them; None when none are given (the definition's stay)."""
        if not block_devices:
            return None
        return [self.disk_of(b) for b in block_devices if b.volume_id]

    def attach(self, uuid: str, connection_info: dict[str, JSON], mountpoint: str) -> None:
        """Hot-plug when the guest runs; the definition keeps the volume for later starts."""
        serial = str(connection_info.get("serial") or "")
        disk = VolumeDisk(
            serial,
            mountpoint,
            dict(connection_info),
            initiator=self.initiator,
            keyring=self.keyring(connection_info),
        )
        vols.nodes(disk)
        with self.vm.locked(uuid):
            defn = self.vm.load(uuid)
            attached = defn.volume_disks()
            for other in attached:
                if other.serial == serial and other.mountpoint == mountpoint:
                    return  # already there (a replayed attach)
                if other.key == disk.key or other.mountpoint == mountpoint:
                    raise DriverError(f"{mountpoint} or volume {serial} is in use already")
            directory = self.vm.dir(uuid)
            if self.vm.pid(uuid) is not None:
                self.vm.plug_volume(defn, disk)
            defn.set_volumes([*attached, disk])
            defn.save(directory)

    @staticmethod
    def _attached(defn: Definition, connection_info: dict[str, JSON], at: str) -> VolumeDisk:
        serial = str(connection_info.get("serial") or "")
        for disk in defn.volume_disks():
            if (serial and disk.serial == serial) or (not serial and disk.mountpoint == at):
                return disk
        raise vols.VolumeNotAttached(f"volume {serial or at} is not attached to {defn.uuid}")

    def detach(self, uuid: str, connection_info: dict[str, JSON], mountpoint: str) -> None:
        """Unplug (the guest must release it in time); an unknown volume is not an error."""
        with self.vm.locked(uuid):
            defn = self.vm.load(uuid)
            try:
                disk = self._attached(defn, connection_info, mountpoint)
            except vols.VolumeNotAttached:
                return
            directory = self.vm.dir(uuid)
            if self.vm.pid(uuid) is not None:
                self.vm.unplug_volume(defn, disk)
            else:
                vols.remove_secret(disk, directory)
            defn.set_volumes([d for d in defn.volume_disks() if d.key != disk.key])
            defn.save(directory)

    def extend(self, uuid: str, connection_info: dict[str, JSON], size: int) -> None:
        """``block_resize`` of the volume's format node (the guest is told of the new size);
        a guest that does not run sees it at its next start (a file volume, which only a
        running QEMU could have held, is grown here then)."""
        with self.vm.locked(uuid):
            defn = self.vm.load(uuid)
            disk = self._attached(defn, connection_info, "")
            if self.vm.pid(uuid) is None:
                path = disk.data.get("device_path") or disk.data.get("path")
                if disk.kind in ("file", "local") and path:
                    disks.grow(Path(str(path)), size, str(disk.data.get("format") or "raw"))
                return
            grown = self.vm.resize_volume(defn, disk, size)
            if grown != disk:
                defn.set_volumes([grown if d.key == disk.key else d for d in defn.volume_disks()])
                defn.save(self.vm.dir(uuid))

    def swap(
        self,
        uuid: str,
        old_info: dict[str, JSON],
        new_info: dict[str, JSON],
        mountpoint: str,
    ) -> None:
        """Mirror the old volume into the new one under the running guest, then pivot; the
        guest's device (and its serial) stays."""
        with self.vm.locked(uuid):
            defn = self.vm.load(uuid)
            old = self._attached(defn, old_info, mountpoint)
            new_serial = str(new_info.get("serial") or "")
            data_key = vols.key_of(new_serial) if new_serial else old.data_key + "n"
            if data_key == old.data_key:
                data_key = data_key[:-1] + ("n" if data_key[-1] != "n" else "m")
            new = VolumeDisk(
                old.serial,
                old.mountpoint,
                dict(new_info),
                boot=old.boot,
                key=old.key,
                data_key=data_key,
                initiator=self.initiator,
                keyring=self.keyring(new_info),
            )
            if new.limits != old.limits:
                raise DriverNotSupported("swapping to a volume of other QoS limits")
            vols.nodes(new)
            if self.vm.pid(uuid) is None:
                raise DriverError(f"instance {uuid} must run to swap its volume")
            self.vm.mirror_volume(defn, old, new)
            defn.set_volumes([new if d.key == old.key else d for d in defn.volume_disks()])
            defn.save(self.vm.dir(uuid))
