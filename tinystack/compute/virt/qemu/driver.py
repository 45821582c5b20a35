"""The QEMU driver: real virtual machines, ``qemu-system-x86_64`` run directly.

Each instance is a daemonized QEMU (``-daemonize``, a pidfile, two QMP unix sockets,
the serial console appended to ``console.log``) started from the definition kept in
its directory (see :mod:`.definition`). The driver holds no per-guest threads or
buffers: every question is answered from the files and a short QMP connection, which
is also why a restarted agent simply finds its guests again (pidfile, the PID's
command line, QMP) instead of starting them twice.

Lifecycle on QEMU: power off = ACPI ``system_powerdown`` with a timeout, then kill;
soft reboot = ``send-key ctrl-alt-delete`` waiting for the guest's ``RESET``, hard
reboot = ``system_reset``; pause = ``stop``/``cont``; suspend = ``migrate`` of the
paused guest to ``memory.state`` and exit, resume = start with ``-incoming`` from it
(the guest's clock and uptime continue); snapshot = ``qemu-img convert`` of the root
disk chain while the guest is paused; rescue = the rescue image as first disk, the
instance's disk second (stable device rescue, asked for by the rescue image's
``hw_rescue_bus``/``hw_rescue_device``: the rescue disk after every disk of the instance,
which keep their addresses, and first to boot; the only way to rescue a volume-backed
instance); resize and cold migration keep a copy of the instance directory in
``<uuid>_resize`` until confirm (dropped) or revert (restored); to another host, the
destination pulls the disks from the copy's NBD exports, or copies them in a shared
``instances_path`` (``resize.py``). An evacuation (a spawn in ``REBUILD_SPAWNING``)
starts the guest from its disks on shared storage as they are (a shared
``instances_path``'s, an RBD root) and keeps them if it fails; the evacuated host's
cleanup (``destroy_disks=False``) removes its files only.

A host standing in a network namespace (``[compute] host_namespace``, tests and simulated
hosts) has its taps created there and its QEMUs started there with ``ip netns exec``;
pidfiles, QMP sockets, consoles and disks are files and work the same. Its VNC servers
listen inside that namespace too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid as uuidlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.compute import states
from tinystack.compute.objects import (
    VIF,
    BlockDevice,
    ConsoleInfo,
    DiskImage,
    FlavorMeta,
    GuestStats,
    HostResources,
    ImageMeta,
    InstanceInfo,
    InstanceMeta,
    MigrationMeta,
)
from tinystack.compute.virt.driver import (
    ComputeDriver,
    DriverError,
    DriverNotSupported,
    SnapshotTarget,
    VolumeConnector,
)
from tinystack.compute.virt.qemu import configdrive, disks, host, net, stats
from tinystack.compute.virt.qemu.definition import (
    CONFIG_DRIVE,
    CONSOLE_LOG,
    EPHEMERAL_DISK,
    RESCUE_DEVICES,
    RESCUE_DISK,
    ROOT_DISK,
    STATE_FILE,
    SWAP_DISK,
    Definition,
    flavor_record,
    nic_for,
    socket_paths,
    stable_rescue,
)
from tinystack.compute.virt.qemu.hotplug import Volumes
from tinystack.compute.virt.qemu.imagecache import CachedImage, ImageCache, ImageSource
from tinystack.compute.virt.qemu.live_migration import LiveMigrationMixin, cancel_orphaned_migration
from tinystack.compute.virt.qemu.machine import STATUS_POWER, Machines
from tinystack.compute.virt.qemu.rbd_roots import RbdRoots
from tinystack.compute.virt.qemu.resize import Resizes
from tinystack.compute.virt.qemu.settings import (
    CONSOLE_MAX_BYTES,
    RESIZE_SUFFIX,
    GiB,
    QemuSettings,
)
from tinystack.compute.virt.qemu.volumes import VolumeDisk

LOG = logging.getLogger(__name__)


class QemuDriver(LiveMigrationMixin, ComputeDriver):
    capabilities = {
        "waits_for_vif_plugged": True,
        "supports_migrate_to_same_host": True,
        "supports_attach_interface": True,
        "supports_extend_volume": True,
        "supports_swap_volume": True,
        "supports_device_tagging": False,
        "supports_tagged_attach_interface": False,
        # raw volumes only: two QEMUs share a raw file (share-rw), never a qcow2 one
        "supports_multiattach": True,
        # stable device rescue: the rescue disk added after the (boot volume's) disks
        "supports_bfv_rescue": True,
        "supports_trusted_certs": False,
        "supports_image_type_qcow2": True,
        "supports_image_type_raw": True,
        "supports_image_type_iso": True,
    }

    #: ``driver`` of the diagnostics
    driver_name = "qemu"

    def __init__(
        self,
        hostname: str,
        settings: QemuSettings,
        image_source: ImageSource | None = None,
        machines: Machines | None = None,
    ) -> None:
        """``machines``: who runs the QEMUs (default: this driver itself, as processes)."""
        self.settings = settings
        self.cache = ImageCache(settings.image_cache, image_source)
        binary = settings.qemu_binary or shutil.which("qemu-system-x86_64") or ""
        self.vm = machines or Machines(hostname, settings, binary)
        self.rbd_roots = RbdRoots(settings) if settings.images_type == "rbd" else None
        self.volumes = Volumes(self.vm)
        self.resizes = Resizes(self.vm, self.volumes, self.rbd_roots)
        self.migration_requests: dict[str, str] = {}

    @property
    def hostname(self) -> str:
        return self.vm.hostname

    @hostname.setter
    def hostname(self, value: str) -> None:
        self.vm.hostname = value

    @property
    def binary(self) -> str:
        return self.vm.binary

    def accel(self) -> str:
        """The acceleration QEMU runs with here (``kvm`` or ``tcg``)."""
        return self.vm.accel()

    # -- the host ------------------------------------------------------------------------------
    def init_host(self, context: CallContext, host: str) -> None:
        self.hostname = host
        if not self.binary:
            raise DriverError("qemu-system-x86_64 is not installed")
        net.check_namespace(self.settings.host_namespace)
        self.settings.instances.mkdir(parents=True, exist_ok=True)
        self.settings.image_cache.mkdir(parents=True, exist_ok=True)
        self.vm.start_probe()
        with contextlib.suppress(Exception):
            self.cleanup()

    def get_available_resource(self, context: CallContext) -> HostResources:
        version = host.qemu_version(self.binary) if self.binary else 0
        return HostResources(
            vcpus=host.vcpus(),
            memory_mb=host.memory_mb(),
            local_gb=host.disk_gb(self.settings.disks_root),
            hypervisor_type="QEMU",
            hypervisor_version=version,
            hypervisor_hostname=self.hostname,
            cpu_info=host.cpu_info(),
            supported_instances=(("x86_64", "qemu", "hvm"), ("i686", "qemu", "hvm")),
        )

    def list_instances(self, context: CallContext) -> list[str]:
        root = self.settings.instances
        if not root.is_dir():
            return []
        return sorted(
            p.name
            for p in root.iterdir()
            if not p.name.endswith(RESIZE_SUFFIX) and (p / "instance.json").is_file()
        )

    def recover_instance(
        self, context: CallContext, instance: InstanceMeta, power_state: int
    ) -> None:
        """Adopt what runs: a live QEMU is left alone (never started twice); a dead one stays
        off and the power-state sync reports it SHUTDOWN."""
        with self.vm.locked(instance.uuid):
            defn = Definition.load(self.vm.dir(instance.uuid))
            if defn is None:
                LOG.warning("instance %s has no definition on %s", instance.uuid, self.hostname)
                return
            pid = self.vm.pid(instance.uuid)
            if pid is None:
                if power_state == states.RUNNING:
                    LOG.warning("instance %s: its QEMU is gone; it stays off", instance.uuid)
                return
            for nic in defn.nics:  # a host reboot would have taken the taps with QEMU
                if not net.exists(nic.tap, self.settings.host_namespace):
                    LOG.warning("instance %s: tap %s is missing", instance.uuid, nic.tap)
            cancel_orphaned_migration(self.vm, defn)
            LOG.info("adopted instance %s (QEMU pid %d)", instance.uuid, pid)

    def get_info(self, context: CallContext, instance: InstanceMeta) -> InstanceInfo:
        defn = self.vm.load(instance.uuid)
        directory = self.vm.dir(instance.uuid)
        pid = self.vm.pid(instance.uuid)
        if pid is None:
            if (directory / STATE_FILE).is_file():
                return InstanceInfo(states.POWER_SUSPENDED, defn.name)
            return InstanceInfo(states.SHUTDOWN, defn.name)
        status = self.vm.status(defn)
        if status is None:  # alive but QMP did not answer in time: it runs
            return InstanceInfo(states.RUNNING, defn.name)
        return InstanceInfo(STATUS_POWER.get(status, states.NOSTATE), defn.name)

    def instance_on_disk(self, context: CallContext, instance: InstanceMeta) -> bool:
        """Whether this host sees the instance's disks: its root disk in a shared
        ``instances_path``, or its RBD root disk in the pool (shared block storage, as
        Nova's; none for ISO images and volume-backed instances)."""
        root = self.vm.disk_dir(instance.uuid) / ROOT_DISK
        if self.settings.shared_disks and root.is_file():
            return True
        roots = self._rbd_roots_for(instance)
        return roots is not None and roots.exists(instance.uuid)

    def qemu_pid(self, uuid: str) -> int | None:
        """The PID of the instance's QEMU, if it runs."""
        return self.vm.pid(uuid)

    # -- life cycle ----------------------------------------------------------------------------
    def _wants_config_drive(self, instance: InstanceMeta) -> bool:
        requested = instance.config_drive.strip().lower() in ("true", "1", "yes", "mandatory")
        return bool(self.settings.force_config_drive or requested)

    def _make_root(
        self, directory: Path, image: ImageMeta | None, flavor: FlavorMeta, keep: bool = False
    ) -> tuple[CachedImage, bool]:
        if image is None:
            raise DriverNotSupported("booting from a volume is not supported by the QEMU driver")
        cached = self.cache.get(image.id)
        root_bytes = int(flavor.root_gb) * GiB
        boot_iso = (image.disk_format or "") == "iso"
        target = directory / ROOT_DISK
        if keep and target.is_file():  # found in instances_path
            return cached, boot_iso
        target.unlink(missing_ok=True)
        if boot_iso:
            disks.create_overlay_blank(target, root_bytes or GiB)
        else:
            size = root_bytes if root_bytes > cached.virtual_size else 0
            disks.create_overlay(target, cached.path, cached.format, size)
        return cached, boot_iso

    def _rbd_roots_for(self, instance: InstanceMeta) -> RbdRoots | None:
        """The RBD root disks when the instance's is one (``images_type = rbd``, an image
        that is not an ISO; a volume-backed spawn makes none)."""
        image = instance.image
        if image is None or image.disk_format == "iso":
            return None
        return self.rbd_roots

    def _make_rbd_root(self, instance: InstanceMeta, keep: bool = False) -> VolumeDisk | None:
        """The root disk as an RBD image with ``images_type = rbd`` (not for ISOs); with
        ``keep`` (an evacuation) the one already in the pool, as it is."""
        roots = self._rbd_roots_for(instance)
        if roots is None or instance.image is None:
            return None
        size = int(instance.flavor.root_gb) * GiB
        return roots.make(instance.uuid, instance.image.id, self.cache, size, keep)

    def spawn(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        admin_password: str | None,
        block_devices: Sequence[BlockDevice] = (),
    ) -> None:
        # an evacuation's (a rebuild here goes through rebuild; a volume-backed one has
        # no disk on shared storage left): the instance's disks there are its own
        evacuation = instance.task_state == states.Task.REBUILD_SPAWNING
        with self.vm.locked(instance.uuid):
            self._spawn_locked(instance, network_info, admin_password, block_devices, evacuation)

    def _spawn_locked(
        self,
        instance: InstanceMeta,
        network_info: list[VIF],
        admin_password: str | None,
        block_devices: Sequence[BlockDevice],
        evacuation: bool,
    ) -> None:
        """A new guest; in an ``evacuation`` its disks on shared storage (an RBD root, a
        shared ``instances_path``'s) are used as they are and outlive a failure."""
        uuid = instance.uuid
        directory = self.vm.dir(uuid)
        drop_disks = not (evacuation and self.settings.shared_disks)
        if directory.exists():  # a leftover of an earlier attempt
            self._destroy_locked(uuid, [], drop_disks, keep_root=evacuation)
        directory.mkdir(parents=True)
        try:
            # disks already in instances_path (evacuated from a host sharing it) are
            # used as they are, as libvirt's driver does
            self.vm.disk_dir(uuid).mkdir(parents=True, exist_ok=True)
            self.vm.claim_disks(uuid)
            volumes = [self.volumes.disk_of(b) for b in block_devices]
            self._spawn(instance, directory, network_info, admin_password, volumes, evacuation)
        except BaseException:
            with contextlib.suppress(Exception):
                self._destroy_locked(uuid, network_info, drop_disks, keep_root=evacuation)
            raise

    def _spawn(
        self,
        instance: InstanceMeta,
        directory: Path,
        network_info: list[VIF],
        admin_password: str | None,
        volumes: list[VolumeDisk],
        evacuation: bool,
    ) -> None:
        flavor = instance.flavor
        cached: CachedImage | None = None
        boot_iso = False
        root_rbd = None
        local, keep = self.vm.disk_dir(instance.uuid), self.settings.shared_disks  # kept if there
        if not any(v.boot for v in volumes):
            root_rbd = self._make_rbd_root(instance, keep=evacuation)
            if root_rbd is None:
                cached, boot_iso = self._make_root(local, instance.image, flavor, keep)
        if flavor.ephemeral_gb and not (keep and (local / EPHEMERAL_DISK).is_file()):
            disks.create_ephemeral(local / EPHEMERAL_DISK, flavor.ephemeral_gb)
        if flavor.swap and not (keep and (local / SWAP_DISK).is_file()):
            disks.create_swap(local / SWAP_DISK, flavor.swap)
        config_drive = self._wants_config_drive(instance)
        if config_drive:
            configdrive.make(local / CONFIG_DRIVE, instance, network_info, admin_password)
        qmp_main, qmp_events = socket_paths(
            directory, instance.uuid, self.settings.short_socket_dir
        )
        defn = Definition(
            uuid=instance.uuid,
            name=instance.name,
            hostname=instance.hostname,
            flavor=flavor_record(flavor),
            image_id=instance.image.id if instance.image and (cached or root_rbd) else None,
            base=str(cached.path) if cached else None,
            base_format=cached.format if cached else "qcow2",
            boot_iso=boot_iso,
            ephemeral=bool(flavor.ephemeral_gb),
            swap=bool(flavor.swap),
            config_drive=config_drive,
            nics=[nic_for(v) for v in network_info],
            qmp_socket=qmp_main,
            qmp_events_socket=qmp_events,
            user_network=self.settings.user_network,
            root_rbd=root_rbd.to_dict() if root_rbd else None,
            disks=str(local) if local != directory else "",
        )
        defn.set_volumes(volumes)
        self.vm.start(defn)

    def destroy(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        destroy_disks: bool = True,
    ) -> None:
        # a resize being reverted: the shared RBD root disk goes back to the source; the
        # disks kept (an evacuated instance's source) are those another host runs from
        keep_root = not destroy_disks or instance.task_state == states.Task.RESIZE_REVERTING
        with self.vm.locked(instance.uuid):
            self._destroy_locked(instance.uuid, network_info, destroy_disks, keep_root)
        self.vm.forget_lock(instance.uuid)
        with contextlib.suppress(Exception):
            self.cleanup()

    def _destroy_locked(
        self,
        uuid: str,
        network_info: list[VIF],
        destroy_disks: bool = True,
        keep_root: bool = False,
    ) -> None:
        directory = self.vm.dir(uuid)
        defn = Definition.load(directory)
        self.vm.kill(uuid)
        taps = {net.tap_name(v.id) for v in network_info}
        if defn is not None:
            taps |= {n.tap for n in defn.nics}
            self.vm.cleanup_sockets(defn)
        for tap in sorted(taps):
            try:
                net.delete_tap(tap, self.settings.host_namespace)
            except DriverError as exc:
                LOG.warning("instance %s: %s", uuid, exc)
        # no disk that stays is in the directory: the disks are apart (instances_path), or
        # the one that stays is the RBD root (Nova's ensure_libvirt_rbd_instance_dir_cleanup)
        rbd_root = keep_root and defn is not None and defn.root_rbd is not None
        if destroy_disks or self.settings.shared_disks or rbd_root:
            shutil.rmtree(directory, ignore_errors=True)
        if destroy_disks:
            if self.rbd_roots is not None and not keep_root:  # also a failed spawn's
                self.rbd_roots.remove(uuid)
            # disks in instances_path another host has claimed since are not ours to delete
            if self.settings.shared_disks and self.vm.owns_disks(uuid):
                shutil.rmtree(self.vm.disk_dir(uuid), ignore_errors=True)
            self.resizes.deleted(uuid)

    def rebuild(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        admin_password: str | None,
    ) -> None:
        with self.vm.locked(instance.uuid):
            directory = self.vm.dir(instance.uuid)
            defn = Definition.load(directory)
            if defn is None:  # a new guest, from the new image
                self._spawn_locked(instance, network_info, admin_password, (), evacuation=False)
                return
            self.vm.kill(instance.uuid)
            (directory / STATE_FILE).unlink(missing_ok=True)
            local = defn.disk_dir(directory)
            (local / RESCUE_DISK).unlink(missing_ok=True)
            if defn.config_drive or self._wants_config_drive(instance):
                configdrive.make(local / CONFIG_DRIVE, instance, network_info, admin_password)
                defn.config_drive = True
            root_rbd = None
            if defn.boot_volume is None:  # a volume-backed guest keeps its root volume
                root_rbd = self._make_rbd_root(instance)
            if defn.boot_volume is None and root_rbd is None:
                cached, boot_iso = self._make_root(local, instance.image, instance.flavor)
                defn.image_id = instance.image.id if instance.image else None
                defn.base, defn.base_format = str(cached.path), cached.format
                defn.boot_iso = boot_iso
            defn.root_rbd = root_rbd.to_dict() if root_rbd else None
            if root_rbd is not None:
                defn.image_id = instance.image.id if instance.image else None
            defn.rescue = None
            defn.flavor = flavor_record(instance.flavor)
            defn.hostname = instance.hostname
            if network_info:
                defn.nics = [nic_for(v) for v in network_info]
            self.vm.start(defn)
        with contextlib.suppress(Exception):
            self.cleanup()

    def reboot(
        self, context: CallContext, instance: InstanceMeta, network_info: list[VIF], hard: bool
    ) -> None:
        with self.vm.locked(instance.uuid):
            defn = self.vm.load(instance.uuid)
            pid = self.vm.pid(instance.uuid)
            if pid is None:
                (self.vm.dir(instance.uuid) / STATE_FILE).unlink(missing_ok=True)
                self.vm.start(defn)
                return
            status = self.vm.status(defn)
            if not hard and status == "running" and self.vm.soft_reboot(defn, pid):
                return
            self.vm.reset(defn)
            if status != "running":
                self.vm.cont(defn)

    def power_off(self, context: CallContext, instance: InstanceMeta, timeout: int = 0) -> None:
        with self.vm.locked(instance.uuid):
            defn = self.vm.load(instance.uuid)
            self.vm.shutdown(defn, float(timeout))
            (self.vm.dir(instance.uuid) / STATE_FILE).unlink(missing_ok=True)

    def power_on(
        self, context: CallContext, instance: InstanceMeta, network_info: list[VIF]
    ) -> None:
        with self.vm.locked(instance.uuid):
            defn = self.vm.load(instance.uuid)
            if self.vm.pid(instance.uuid) is not None:
                status = self.vm.status(defn)
                if status not in ("running", None):
                    self.vm.cont(defn)
                return
            state = self.vm.dir(instance.uuid) / STATE_FILE
            self.vm.start(defn, incoming=state if state.is_file() else None)

    def pause(self, context: CallContext, instance: InstanceMeta) -> None:
        with self.vm.locked(instance.uuid):
            self.vm.pause(self.vm.running(instance.uuid))

    def unpause(self, context: CallContext, instance: InstanceMeta) -> None:
        with self.vm.locked(instance.uuid):
            self.vm.cont(self.vm.running(instance.uuid))

    def suspend(self, context: CallContext, instance: InstanceMeta) -> None:
        """Save the guest's RAM and device state to ``memory.state`` and stop QEMU."""
        self.vm.save_state(instance.uuid)

    def resume(self, context: CallContext, instance: InstanceMeta, network_info: list[VIF]) -> None:
        with self.vm.locked(instance.uuid):
            defn = self.vm.load(instance.uuid)
            if self.vm.pid(instance.uuid) is not None:
                if self.vm.status(defn) != "running":
                    self.vm.cont(defn)
                return
            state = self.vm.dir(instance.uuid) / STATE_FILE
            if not state.is_file():
                raise DriverError(f"instance {instance.uuid} has no saved state to resume")
            self.vm.start(defn, incoming=state)

    def trigger_crash_dump(self, context: CallContext, instance: InstanceMeta) -> None:
        with self.vm.locked(instance.uuid):
            self.vm.inject_nmi(self.vm.running(instance.uuid))

    def set_admin_password(
        self, context: CallContext, instance: InstanceMeta, new_password: str
    ) -> None:
        raise DriverNotSupported("setting the admin password needs a guest agent")

    # -- images and rescue ---------------------------------------------------------------------
    def snapshot(
        self, context: CallContext, instance: InstanceMeta, target: SnapshotTarget | None = None
    ) -> DiskImage | None:
        """A standalone qcow2 of the root disk, taken while the guest is paused; of an RBD
        root disk, made in the image pool and published through ``target`` when it can be
        (``rbd_roots``: Nova's direct snapshot), else read from an RBD snapshot."""
        with self.vm.locked(instance.uuid):
            defn = self.vm.load(instance.uuid)
            if defn.root_rbd and self.rbd_roots is not None and target is not None:
                image = instance.image
                base = self.cache.source.info(image.id) if image and self.cache.source else None
                if self.rbd_roots.publish_snapshot(instance.uuid, target, base):
                    return None
            directory = self.vm.dir(instance.uuid)
            qcow2 = directory / f".snapshot-{uuidlib.uuid4().hex}.qcow2"
            if defn.root_rbd and self.rbd_roots is not None:
                self.rbd_roots.snapshot_to(instance.uuid, qcow2)  # an RBD snapshot
            else:
                self._flatten_paused(defn, defn.disk_dir(directory) / ROOT_DISK, qcow2)
            f = open(qcow2, "rb")  # closed by the generator below
            qcow2.unlink()  # the open file keeps the data; nothing is left behind

        def chunks() -> Iterator[bytes]:
            with f:
                while chunk := f.read(1 << 20):
                    yield chunk

        return DiskImage(disk_format="qcow2", container_format="bare", chunks=chunks())

    def _flatten_paused(self, defn: Definition, root: Path, target: Path) -> None:
        paused = False
        if self.vm.pid(defn.uuid) is not None and self.vm.status(defn) == "running":
            self.vm.pause(defn)  # stopping flushes QEMU's caches to the file
            paused = True
        try:
            disks.flatten(root, target)
        finally:
            if paused:
                self.vm.cont(defn)

    def rescue(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        rescue_image: ImageMeta | None,
        rescue_password: str | None,
    ) -> None:
        with self.vm.locked(instance.uuid):
            defn = self.vm.load(instance.uuid)
            image_id = (rescue_image.id if rescue_image else None) or defn.image_id
            if not image_id:
                raise DriverError(f"instance {instance.uuid} has no image to rescue with")
            props = rescue_image.properties if rescue_image else {}
            stable = {k: props[f"hw_rescue_{k}"] for k in ("bus", "device")
                      if props.get(f"hw_rescue_{k}")}  # fmt: skip
            devices = stable_rescue(stable)
            if defn.boot_volume is not None and devices is None:
                raise DriverError("a volume-backed instance is rescued with stable devices only")
            if devices is not None and devices not in RESCUE_DEVICES:
                raise DriverError(f"a rescue {devices[1]} on the {devices[0]} bus is not supported")
            self.vm.kill(instance.uuid)
            self.vm.cleanup_sockets(defn)
            directory = self.vm.dir(instance.uuid)
            (directory / STATE_FILE).unlink(missing_ok=True)
            cached = self.cache.get(image_id)
            rescue_disk = defn.disk_dir(directory) / RESCUE_DISK
            rescue_disk.unlink(missing_ok=True)
            disks.create_overlay(rescue_disk, cached.path, cached.format)
            defn.rescue = {
                "image_id": image_id,
                "base": str(cached.path),
                "base_format": cached.format,
                **stable,
            }
            self.vm.start(defn)

    def unrescue(self, context: CallContext, instance: InstanceMeta) -> None:
        with self.vm.locked(instance.uuid):
            defn = self.vm.load(instance.uuid)
            self.vm.kill(instance.uuid)
            self.vm.cleanup_sockets(defn)
            (defn.disk_dir(self.vm.dir(instance.uuid)) / RESCUE_DISK).unlink(missing_ok=True)
            defn.rescue = None
            self.vm.start(defn)

    # -- resize and cold migration (this host or another) ----------------------------------------
    def migrate_disk_and_power_off(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        flavor: FlavorMeta,
        network_info: list[VIF],
    ) -> dict[str, JSON]:
        return self.resizes.hand_over(instance, migration, flavor)

    def finish_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        disk_info: dict[str, JSON],
        network_info: list[VIF],
        power_on: bool,
        block_devices: Sequence[BlockDevice] = (),
    ) -> None:
        self.resizes.finish(instance, disk_info, network_info, power_on, block_devices)

    def confirm_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        network_info: list[VIF],
    ) -> None:
        self.resizes.confirm(instance.uuid, migration.dest_host not in ("", self.hostname))

    def finish_revert_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        network_info: list[VIF],
        power_on: bool,
        block_devices: Sequence[BlockDevice] = (),
    ) -> None:
        self.resizes.revert(instance, network_info, power_on, block_devices)

    # -- consoles and diagnostics --------------------------------------------------------------
    def get_console_output(self, context: CallContext, instance: InstanceMeta) -> str:
        self.vm.load(instance.uuid)
        path = self.vm.dir(instance.uuid) / CONSOLE_LOG
        try:
            with open(path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - CONSOLE_MAX_BYTES))
                data = f.read()
        except FileNotFoundError:
            return ""
        text = data.decode("utf-8", errors="replace")
        return text.replace("\r\n", "\n").replace("\x00", "")

    def get_vnc_console(self, context: CallContext, instance: InstanceMeta) -> ConsoleInfo:
        defn = self.vm.running(instance.uuid)
        if defn.vnc_port is None:
            raise DriverError(f"instance {instance.uuid} has no VNC console")
        return ConsoleInfo(host=self.settings.vnc_listen, port=defn.vnc_port)

    def get_serial_console(self, context: CallContext, instance: InstanceMeta) -> ConsoleInfo:
        """The serial port's unix socket (``internal_access_path``): the serial proxy runs on
        the machine of its guests (port 0: no TCP listener)."""
        defn = self.vm.running(instance.uuid)
        if not defn.serial_socket or not Path(defn.serial_socket).exists():
            raise DriverError(f"instance {instance.uuid} has no serial console socket")
        return ConsoleInfo(host=self.hostname, port=0, internal_access_path=defn.serial_socket)

    def vnc_websocket_port(self, instance: InstanceMeta) -> int | None:
        defn = self.vm.load(instance.uuid)
        if defn.vnc_port is None:
            return None
        return defn.vnc_port + self.settings.vnc_websocket_offset

    def get_stats(self, context: CallContext, instance: InstanceMeta) -> GuestStats | None:
        pid = self.vm.pid(instance.uuid)
        if pid is None:
            return None
        try:
            return stats.guest_stats(self.vm, self.vm.load(instance.uuid), pid)
        except (FileNotFoundError, ProcessLookupError):  # it stopped meanwhile
            return None

    def get_diagnostics(self, context: CallContext, instance: InstanceMeta) -> dict[str, JSON]:
        defn = self.vm.load(instance.uuid)
        info = self.get_info(context, instance)
        state = states.POWER_STATE_NAMES.get(info.power_state, "pending")
        return stats.diagnostics(self.vm, defn, state, self.driver_name)

    # -- devices -------------------------------------------------------------------------------
    def attach_interface(self, context: CallContext, instance: InstanceMeta, vif: VIF) -> None:
        with self.vm.locked(instance.uuid):
            defn = self.vm.load(instance.uuid)
            if any(n.port_id == vif.id for n in defn.nics):
                return
            nic = nic_for(vif)
            if self.vm.pid(instance.uuid) is not None:
                net.ensure_tap(nic.tap, nic.mac, self.settings.host_namespace)
                try:
                    self.vm.plug_nic(defn, nic)
                except BaseException:
                    net.delete_tap(nic.tap, self.settings.host_namespace)
                    raise
            defn.nics.append(nic)
            defn.save(self.vm.dir(instance.uuid))

    def detach_interface(self, context: CallContext, instance: InstanceMeta, vif: VIF) -> None:
        with self.vm.locked(instance.uuid):
            defn = self.vm.load(instance.uuid)
            nic = next((n for n in defn.nics if n.port_id == vif.id), None)
            if nic is None:
                return
            if self.vm.pid(instance.uuid) is not None:
                self.vm.unplug_nic(defn, nic)
            net.delete_tap(nic.tap, self.settings.host_namespace)
            defn.nics = [n for n in defn.nics if n.port_id != vif.id]
            defn.save(self.vm.dir(instance.uuid))

    # -- volumes -------------------------------------------------------------------------------
    def get_volume_connector(self, context: CallContext, instance: InstanceMeta) -> VolumeConnector:
        return VolumeConnector(
            host=self.hostname,
            ip=self.settings.my_ip or "127.0.0.1",
            initiator=self.volumes.initiator,
        )

    def attach_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, JSON],
        mountpoint: str,
    ) -> None:
        self.volumes.attach(instance.uuid, connection_info, mountpoint)

    def detach_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, JSON],
        mountpoint: str,
    ) -> None:
        self.volumes.detach(instance.uuid, connection_info, mountpoint)

    def extend_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, JSON],
        requested_size: int,
    ) -> None:
        self.volumes.extend(instance.uuid, connection_info, requested_size)

    def swap_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        old_connection_info: dict[str, JSON],
        new_connection_info: dict[str, JSON],
        mountpoint: str,
    ) -> None:
        self.volumes.swap(instance.uuid, old_connection_info, new_connection_info, mountpoint)

    # -- housekeeping --------------------------------------------------------------------------
    def images_in_use(self) -> set[str]:
        found: set[str] = set()
        root = self.settings.instances
        if root.is_dir():
            for p in root.iterdir():
                defn = Definition.load(p)
                if defn is not None:
                    found |= defn.images_in_use()
        if self.settings.shared_disks:  # whichever host runs them
            found |= disks.cached_backing(self.settings.disks_root, self.settings.image_cache)
        return found

    def cleanup(self, max_age: float | None = None) -> list[str]:
        """Drop cached images no instance uses and orphaned resize copies; the removed ids."""
        self.resizes.drop_orphans()
        age = self.settings.image_cache_max_age if max_age is None else max_age
        return self.cache.cleanup(self.images_in_use(), age)
