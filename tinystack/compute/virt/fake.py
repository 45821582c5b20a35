"""The fake virt driver: an in-memory hypervisor with configurable delays and failures.

One :class:`FakeDriver` is one fake host; a process can run a thousand of them.
Failures are injected per method with :meth:`FakeDriver.inject_failure` (tests) or
for every spawn with ``fail_spawn`` (the ``[compute] fake_fail_spawn_hosts`` option).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.compute import states
from tinystack.compute.objects import (
    VIF,
    BlockDevice,
    ConsoleInfo,
    DiskImage,
    FlavorMeta,
    HostResources,
    ImageMeta,
    InstanceInfo,
    InstanceMeta,
    LiveMigrateData,
    MigrationMeta,
    MigrationProgress,
)
from tinystack.compute.virt.driver import (
    ComputeDriver,
    DriverError,
    InstanceNotOnHost,
    MigrationAborted,
    SnapshotTarget,
    VolumeConnector,
)

#: a tiny but valid qcow2 header, so snapshots pass the image service's format checks
_QCOW2_HEADER = (
    b"QFI\xfb"
    + (3).to_bytes(4, "big")
    + bytes(8)
    + (0).to_bytes(4, "big")
    + (16).to_bytes(4, "big")
    + (1024 * 1024 * 1024).to_bytes(8, "big")
    + bytes(72)
)


@dataclass
class FakeInstance:
    uuid: str
    name: str
    power_state: int
    flavor: FlavorMeta
    image_id: str | None
    console: list[str] = field(default_factory=list)
    vifs: dict[str, VIF] = field(default_factory=dict)
    #: mount point -> the connection info of the volume plugged there
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: volume id (the connection info's serial) -> its size in bytes, once extended
    volume_sizes: dict[str, int] = field(default_factory=dict)
    #: volume serial -> its assisted snapshots (snapshot id -> the overlay file)
    volume_snapshots: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the mount point of the volume the instance boots from (None: its image)
    boot_volume: str | None = None
    rescued: bool = False
    admin_password: str | None = None


@dataclass
class _Failure:
    exc: Exception
    remaining: int | None


class FakeDriver(ComputeDriver):
    capabilities = {
        "waits_for_vif_plugged": False,
        "supports_migrate_to_same_host": True,
        "supports_attach_interface": True,
        "supports_device_tagging": True,
        "supports_tagged_attach_volume": True,
        "supports_extend_volume": True,
        "supports_swap_volume": True,
        "supports_tagged_attach_interface": True,
        "supports_multiattach": True,
        "supports_bfv_rescue": True,
        "supports_trusted_certs": True,
        "supports_image_type_qcow2": True,
        "supports_image_type_raw": True,
        "supports_image_type_iso": True,
    }

    def __init__(
        self,
        hostname: str,
        *,
        vcpus: int = 8,
        memory_mb: int = 16384,
        local_gb: int = 200,
        spawn_delay: float = 0.0,
        action_delay: float = 0.0,
        fail_spawn: bool = False,
        live_migration_seconds: float = 0.2,
    ) -> None:
        self.hostname = hostname
        self.vcpus = vcpus
        self.memory_mb = memory_mb
        self.local_gb = local_gb
        self.spawn_delay = spawn_delay
        self.action_delay = action_delay
        self.fail_spawn = fail_spawn
        self.live_migration_seconds = live_migration_seconds
        #: instance uuid -> "abort" or "complete", asked of its running live migration
        self._migration_requests: dict[str, str] = {}
        #: instances arriving by live migration (prepared, not yet switched over)
        self.incoming: set[str] = set()
        self.instances: dict[str, FakeInstance] = {}
        self._failures: dict[str, _Failure] = {}
        self._lock = threading.Lock()

    # -- failure injection ---------------------------------------------------------------------
    def inject_failure(self, method: str, exc: Exception, count: int | None = 1) -> None:
        """Make the next ``count`` calls of ``method`` raise ``exc`` (None: every call)."""
        with self._lock:
            self._failures[method] = _Failure(exc, count)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def _maybe_fail(self, method: str) -> None:
        with self._lock:
            failure = self._failures.get(method)
            if failure is None:
                return
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    del self._failures[method]
        raise failure.exc

    def _act(self, method: str, delay: float | None = None) -> None:
        self._maybe_fail(method)
        wait = self.action_delay if delay is None else delay
        if wait:
            time.sleep(wait)

    def _get(self, instance: InstanceMeta) -> FakeInstance:
        found = self.instances.get(instance.uuid)
        if found is None:
            raise InstanceNotOnHost(f"instance {instance.uuid} is not on {self.hostname}")
        return found

    def _log(self, inst: FakeInstance, line: str) -> None:
        inst.console.append(f"[{time.strftime('%H:%M:%S')}] {line}")

    # -- the host ------------------------------------------------------------------------------
    def init_host(self, context: CallContext, host: str) -> None:
        self.hostname = host

    def get_available_resource(self, context: CallContext) -> HostResources:
        return HostResources(
            vcpus=self.vcpus,
            memory_mb=self.memory_mb,
            local_gb=self.local_gb,
            hypervisor_type="fake",
            hypervisor_version=1000,
            hypervisor_hostname=self.hostname,
            cpu_info={
                "arch": "x86_64",
                "model": "fake",
                "vendor": "tinystack",
                "topology": {"cells": 1, "sockets": 1, "cores": self.vcpus, "threads": 1},
                "features": [],
            },
            supported_instances=(("x86_64", "fake", "hvm"), ("i686", "fake", "hvm")),
        )

    def list_instances(self, context: CallContext) -> list[str]:
        return list(self.instances)

    def recover_instance(
        self, context: CallContext, instance: InstanceMeta, power_state: int
    ) -> None:
        if instance.uuid in self.instances:
            return
        inst = FakeInstance(
            uuid=instance.uuid,
            name=instance.name,
            power_state=power_state,
            flavor=instance.flavor,
            image_id=instance.image.id if instance.image else None,
        )
        self._log(inst, "re-attached after a restart of the compute service")
        self.instances[instance.uuid] = inst

    def get_info(self, context: CallContext, instance: InstanceMeta) -> InstanceInfo:
        inst = self._get(instance)
        return InstanceInfo(power_state=inst.power_state, internal_id=inst.name)

    # -- life cycle ----------------------------------------------------------------------------
    def spawn(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        admin_password: str | None,
        block_devices: Sequence[BlockDevice] = (),
    ) -> None:
        if self.fail_spawn:
            raise DriverError(f"fake spawn failure on {self.hostname}")
        self._act("spawn", self.spawn_delay)
        inst = FakeInstance(
            uuid=instance.uuid,
            name=instance.name,
            power_state=states.RUNNING,
            flavor=instance.flavor,
            image_id=instance.image.id if instance.image else None,
            vifs={v.id: v for v in network_info},
            admin_password=admin_password,
        )
        for bdm in block_devices:
            if not bdm.connection_info or not bdm.device_name:
                raise DriverError(f"volume {bdm.volume_id} has no connection info")
            inst.volumes[bdm.device_name] = dict(bdm.connection_info)
            if bdm.is_root:
                inst.boot_volume = bdm.device_name
        if inst.boot_volume is None and inst.image_id is None:
            raise DriverError(f"instance {instance.uuid} has neither an image nor a boot volume")
        source = f"volume at {inst.boot_volume}" if inst.boot_volume else f"image {inst.image_id}"
        self._log(inst, f"fake BIOS: booting {instance.hostname} ({instance.uuid}) from {source}")
        self._log(inst, f"Linux version 6.1.0-fake: {instance.flavor.vcpus} CPU(s)")
        self._log(inst, f"Memory: {instance.flavor.memory_mb}MB available")
        for vif in network_info:
            self._log(inst, f"eth: {vif.address} {' '.join(vif.fixed_ips)}")
        self._log(inst, "cloud-init: reading metadata")
        self._log(inst, f"{instance.hostname} login:")
        self.instances[instance.uuid] = inst

    def destroy(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        destroy_disks: bool = True,
    ) -> None:
        self._act("destroy")
        self.instances.pop(instance.uuid, None)

    def rebuild(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        admin_password: str | None,
    ) -> None:
        self._act("rebuild", self.spawn_delay)
        inst = self.instances.get(instance.uuid)
        if inst is None:
            self.spawn(context, instance, network_info, admin_password)
            return
        inst.image_id = instance.image.id if instance.image else None
        inst.power_state = states.RUNNING
        inst.flavor = instance.flavor
        self._log(inst, f"rebuilt from image {inst.image_id}")

    def reboot(
        self, context: CallContext, instance: InstanceMeta, network_info: list[VIF], hard: bool
    ) -> None:
        self._act("reboot")
        inst = self._get(instance)
        inst.power_state = states.RUNNING
        self._log(inst, f"{'hard' if hard else 'soft'} reboot")

    def power_off(self, context: CallContext, instance: InstanceMeta, timeout: int = 0) -> None:
        self._act("power_off")
        inst = self._get(instance)
        inst.power_state = states.SHUTDOWN
        self._log(inst, "powered off")

    def power_on(
        self, context: CallContext, instance: InstanceMeta, network_info: list[VIF]
    ) -> None:
        self._act("power_on")
        inst = self._get(instance)
        inst.power_state = states.RUNNING
        self._log(inst, "powered on")

    def pause(self, context: CallContext, instance: InstanceMeta) -> None:
        self._act("pause")
        self._get(instance).power_state = states.POWER_PAUSED

    def unpause(self, context: CallContext, instance: InstanceMeta) -> None:
        self._act("unpause")
        self._get(instance).power_state = states.RUNNING

    def suspend(self, context: CallContext, instance: InstanceMeta) -> None:
        self._act("suspend")
        self._get(instance).power_state = states.POWER_SUSPENDED

    def resume(self, context: CallContext, instance: InstanceMeta, network_info: list[VIF]) -> None:
        self._act("resume")
        self._get(instance).power_state = states.RUNNING

    def trigger_crash_dump(self, context: CallContext, instance: InstanceMeta) -> None:
        self._act("trigger_crash_dump")
        self._log(self._get(instance), "NMI received: crash dump triggered")

    def set_admin_password(
        self, context: CallContext, instance: InstanceMeta, new_password: str
    ) -> None:
        self._act("set_admin_password")
        self._get(instance).admin_password = new_password

    # -- images and rescue ---------------------------------------------------------------------
    def snapshot(
        self, context: CallContext, instance: InstanceMeta, target: SnapshotTarget | None = None
    ) -> DiskImage:
        self._act("snapshot")
        inst = self._get(instance)
        digest = hashlib.sha256(f"{inst.uuid}:{inst.image_id}".encode()).digest()

        def chunks() -> Iterator[bytes]:
            yield _QCOW2_HEADER
            yield digest * 16

        return DiskImage(disk_format="qcow2", container_format="bare", chunks=chunks())

    def rescue(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        rescue_image: ImageMeta | None,
        rescue_password: str | None,
    ) -> None:
        self._act("rescue")
        inst = self._get(instance)
        inst.rescued = True
        inst.power_state = states.RUNNING
        self._log(inst, "booted the rescue image")

    def unrescue(self, context: CallContext, instance: InstanceMeta) -> None:
        self._act("unrescue")
        inst = self._get(instance)
        inst.rescued = False
        inst.power_state = states.RUNNING

    # -- resize and cold migration -------------------------------------------------------------
    def migrate_disk_and_power_off(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        flavor: FlavorMeta,
        network_info: list[VIF],
    ) -> dict[str, JSON]:
        self._act("migrate_disk_and_power_off")
        inst = self._get(instance)
        inst.power_state = states.SHUTDOWN
        return {
            "image_id": inst.image_id,
            "console": list(inst.console),
            "volumes": {at: dict(info) for at, info in inst.volumes.items()},
            "boot_volume": inst.boot_volume,
        }

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
        self._act("finish_migration")
        image_id, console = disk_info.get("image_id"), disk_info.get("console")
        volumes, boot = disk_info.get("volumes"), disk_info.get("boot_volume")
        inst = FakeInstance(
            uuid=instance.uuid,
            name=instance.name,
            power_state=states.RUNNING if power_on else states.SHUTDOWN,
            flavor=instance.flavor,
            image_id=image_id if isinstance(image_id, str) else None,
            console=[str(line) for line in console] if isinstance(console, list) else [],
            vifs={v.id: v for v in network_info},
            volumes={
                str(at): dict(info)
                for at, info in (volumes.items() if isinstance(volumes, dict) else ())
                if isinstance(info, dict)
            },
            boot_volume=boot if isinstance(boot, str) else None,
        )
        if block_devices:  # connected for this host
            inst.volumes = _plugged(block_devices)
        self._log(inst, f"migrated from {migration.source_host}")
        self.instances[instance.uuid] = inst

    def confirm_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        network_info: list[VIF],
    ) -> None:
        self._act("confirm_migration")
        if migration.source_host != migration.dest_host:
            self.instances.pop(instance.uuid, None)

    def finish_revert_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        network_info: list[VIF],
        power_on: bool,
        block_devices: Sequence[BlockDevice] = (),
    ) -> None:
        self._act("finish_revert_migration")
        inst = self.instances.get(instance.uuid)
        if inst is None:
            inst = FakeInstance(
                uuid=instance.uuid,
                name=instance.name,
                power_state=states.SHUTDOWN,
                flavor=instance.flavor,
                image_id=instance.image.id if instance.image else None,
            )
            self.instances[instance.uuid] = inst
        inst.flavor = instance.flavor
        if block_devices:  # connected for this host again
            inst.volumes = _plugged(block_devices)
            root = next((bd for bd in block_devices if bd.is_root), None)
            inst.boot_volume = root.device_name if root is not None else None
        inst.power_state = states.RUNNING if power_on else states.SHUTDOWN
        self._log(inst, "resize reverted")

    # -- live migration ------------------------------------------------------------------------
    def check_can_live_migrate_destination(
        self, context: CallContext, instance: InstanceMeta, block_migration: bool | None
    ) -> LiveMigrateData:
        self._act("check_can_live_migrate_destination")
        if instance.uuid in self.instances:
            raise DriverError(f"instance {instance.uuid} is already on {self.hostname}")
        # fake hosts share nothing: their disks are copied (block migration)
        return LiveMigrateData(
            block_migration=block_migration is not False,
            auto_block=block_migration is None,
            dest_address=self.hostname,
        )

    def check_can_live_migrate_source(
        self, context: CallContext, instance: InstanceMeta, data: LiveMigrateData
    ) -> LiveMigrateData:
        self._act("check_can_live_migrate_source")
        self._get(instance)
        return data

    def pre_live_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        block_devices: Sequence[BlockDevice],
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> LiveMigrateData:
        self._act("pre_live_migration")
        inst = FakeInstance(
            uuid=instance.uuid,
            name=instance.name,
            power_state=states.POWER_PAUSED,
            flavor=instance.flavor,
            image_id=instance.image.id if instance.image else None,
            vifs={v.id: v for v in network_info},
            volumes={
                bd.device_name: dict(data.volume_connections[bd.volume_id])
                for bd in block_devices
                if bd.device_name and bd.volume_id and bd.volume_id in data.volume_connections
            },
        )
        root = next((bd for bd in block_devices if bd.is_root), None)
        inst.boot_volume = root.device_name if root is not None else None
        self._log(inst, "waiting for a live migration")
        self.instances[instance.uuid] = inst
        self.incoming.add(instance.uuid)
        return replace(data, incoming_uri=f"fake:{self.hostname}")

    def live_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        data: LiveMigrateData,
        progress: Callable[[MigrationProgress], None],
    ) -> MigrationProgress:
        self._act("live_migration", 0)
        self._get(instance)
        total = instance.flavor.memory_mb * 1024 * 1024
        disk = instance.flavor.root_gb * 1024**3 if data.block_migration else 0
        steps = 10
        for step in range(1, steps + 1):
            asked = self._migration_requests.pop(instance.uuid, None)
            if asked == "abort":
                raise MigrationAborted(f"live migration of {instance.uuid} cancelled")
            if asked == "complete":
                step = steps
            done = total * step // steps
            report = MigrationProgress(
                memory_total=total,
                memory_processed=done,
                memory_remaining=total - done,
                disk_total=disk,
                disk_processed=disk * step // steps,
                disk_remaining=disk - disk * step // steps,
            )
            progress(report)
            if step == steps:
                break
            time.sleep(self.live_migration_seconds / steps)
        self._migration_requests.pop(instance.uuid, None)
        return replace(report, downtime_ms=1)

    def live_migration_abort(self, context: CallContext, instance: InstanceMeta) -> None:
        self._get(instance)
        self._migration_requests[instance.uuid] = "abort"

    def live_migration_force_complete(self, context: CallContext, instance: InstanceMeta) -> None:
        self._get(instance)
        self._migration_requests[instance.uuid] = "complete"

    def post_live_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> None:
        self._act("post_live_migration")
        self.instances.pop(instance.uuid, None)

    def post_live_migration_at_destination(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> None:
        self._act("post_live_migration_at_destination")
        inst = self._get(instance)
        self.incoming.discard(instance.uuid)
        inst.power_state = states.RUNNING
        self._log(inst, "live migrated here")

    def rollback_live_migration_at_destination(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> None:
        self._act("rollback_live_migration_at_destination")
        if instance.uuid in self.incoming:
            self.incoming.discard(instance.uuid)
            self.instances.pop(instance.uuid, None)

    # -- consoles and diagnostics --------------------------------------------------------------
    def get_console_output(self, context: CallContext, instance: InstanceMeta) -> str:
        self._maybe_fail("get_console_output")
        return "\n".join(self._get(instance).console)

    def get_vnc_console(self, context: CallContext, instance: InstanceMeta) -> ConsoleInfo:
        self._maybe_fail("get_vnc_console")
        self._get(instance)
        return ConsoleInfo(host="127.0.0.1", port=5900)

    def get_serial_console(self, context: CallContext, instance: InstanceMeta) -> ConsoleInfo:
        self._maybe_fail("get_serial_console")
        self._get(instance)
        return ConsoleInfo(host="127.0.0.1", port=10000)  # as Nova's fake: nothing listens

    def get_diagnostics(self, context: CallContext, instance: InstanceMeta) -> dict[str, JSON]:
        self._maybe_fail("get_diagnostics")
        inst = self._get(instance)
        return {
            "state": states.POWER_STATE_NAMES.get(inst.power_state, "pending"),
            # the API's enumeration has no "fake" (upstream's fake says libvirt too)
            "driver": "libvirt",
            "hypervisor": "fake",
            "hypervisor_os": "fake-os",
            "uptime": 46664,
            "config_drive": False,
            "num_cpus": inst.flavor.vcpus,
            "num_nics": len(inst.vifs),
            "num_disks": 1,
            "cpu_details": [{"id": i, "time": 17300000000, "utilisation": 15} for i in range(1)],
            "nic_details": [
                {
                    "mac_address": vif.address,
                    "rx_octets": 2070139,
                    "rx_errors": 0,
                    "rx_drop": 0,
                    "rx_packets": 26701,
                    "rx_rate": None,
                    "tx_octets": 140208,
                    "tx_errors": 0,
                    "tx_drop": 0,
                    "tx_packets": 662,
                    "tx_rate": None,
                }
                for vif in inst.vifs.values()
            ],
            "disk_details": [
                {
                    "read_bytes": 262144,
                    "read_requests": 112,
                    "write_bytes": 5778432,
                    "write_requests": 488,
                    "errors_count": 1,
                }
            ],
            "memory_details": {"maximum": inst.flavor.memory_mb // 1024 or 1, "used": 0},
        }

    # -- devices -------------------------------------------------------------------------------
    def attach_interface(self, context: CallContext, instance: InstanceMeta, vif: VIF) -> None:
        self._act("attach_interface")
        self._get(instance).vifs[vif.id] = vif

    def detach_interface(self, context: CallContext, instance: InstanceMeta, vif: VIF) -> None:
        self._act("detach_interface")
        self._get(instance).vifs.pop(vif.id, None)

    # -- volumes -------------------------------------------------------------------------------
    def get_volume_connector(self, context: CallContext, instance: InstanceMeta) -> VolumeConnector:
        return VolumeConnector(
            host=self.hostname,
            ip="127.0.0.1",
            initiator=f"iqn.2010-10.org.openstack:{self.hostname}",
        )

    def attach_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, JSON],
        mountpoint: str,
    ) -> None:
        self._act("attach_volume")
        inst = self._get(instance)
        serial = connection_info.get("serial")
        for at, info in inst.volumes.items():
            if at == mountpoint or (serial and info.get("serial") == serial):
                raise DriverError(f"{at} is in use by volume {info.get('serial')}")
        inst.volumes[mountpoint] = dict(connection_info)
        self._log(inst, f"virtio_blk: {mountpoint} (serial {str(serial)[:20]}) plugged")

    def detach_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, JSON],
        mountpoint: str,
    ) -> None:
        self._act("detach_volume")
        inst = self._get(instance)
        if inst.volumes.pop(mountpoint, None) is not None:
            self._log(inst, f"virtio_blk: {mountpoint} unplugged")
        if inst.boot_volume == mountpoint:
            inst.boot_volume = None

    def _attached(self, instance: InstanceMeta, connection_info: dict[str, JSON]) -> str:
        serial = str(connection_info.get("serial") or "")
        if not any(info.get("serial") == serial for info in self._get(instance).volumes.values()):
            raise DriverError(f"volume {serial} is not attached to {instance.uuid}")
        return serial

    def volume_snapshot_create(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, JSON],
        create_info: dict[str, JSON],
    ) -> None:
        self._act("volume_snapshot_create")
        serial = self._attached(instance, connection_info)
        if create_info.get("type") != "qcow2":
            raise DriverError(f"unknown assisted snapshot type {create_info.get('type')}")
        snaps = self._get(instance).volume_snapshots.setdefault(serial, {})
        snaps[str(create_info["snapshot_id"])] = str(create_info.get("new_file") or "")

    def volume_snapshot_delete(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, JSON],
        snapshot_id: str,
        delete_info: dict[str, JSON],
    ) -> None:
        self._act("volume_snapshot_delete")
        serial = self._attached(instance, connection_info)
        if self._get(instance).volume_snapshots.get(serial, {}).pop(snapshot_id, None) is None:
            raise DriverError(f"volume {serial} has no assisted snapshot {snapshot_id}")

    def extend_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, JSON],
        requested_size: int,
    ) -> None:
        self._act("extend_volume")
        inst = self._get(instance)
        serial = str(connection_info.get("serial") or "")
        if not any(info.get("serial") == serial for info in inst.volumes.values()):
            raise DriverError(f"volume {serial} is not attached to {instance.uuid}")
        inst.volume_sizes[serial] = requested_size
        self._log(inst, f"virtio_blk: volume {serial[:20]} resized to {requested_size} bytes")

    def swap_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        old_connection_info: dict[str, JSON],
        new_connection_info: dict[str, JSON],
        mountpoint: str,
    ) -> None:
        self._act("swap_volume")
        inst = self._get(instance)
        if mountpoint not in inst.volumes:
            raise DriverError(f"nothing is attached at {mountpoint}")
        inst.volumes[mountpoint] = dict(new_connection_info)
        self._log(inst, f"virtio_blk: {mountpoint} now volume {new_connection_info.get('serial')}")


def _plugged(block_devices: Sequence[BlockDevice]) -> dict[str, dict[str, Any]]:
    """Mount point -> connection info of the connected volumes of ``block_devices``."""
    return {
        bd.device_name: dict(bd.connection_info)
        for bd in block_devices
        if bd.device_name and bd.volume_id and bd.connection_info
    }
