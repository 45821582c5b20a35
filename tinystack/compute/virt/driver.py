"""The virt driver interface: what a compute agent asks of a hypervisor.

Every method takes the caller's :class:`CallContext` first, then the instance it
concerns (as an :class:`InstanceMeta` value object, never a database row), then
its own arguments. Every driver implements every method: a driver that cannot do
something raises :class:`DriverNotSupported`, which the agent reports as upstream does.

Volumes: a connection info is Nova's (``driver_volume_type``, ``data``, and ``serial``,
the volume id); the agent gets it from the block storage service for this host's
:meth:`ComputeDriver.get_volume_connector` and hands it over with the device name. A
driver keeps what it needs to open the volumes again when the guest starts again.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
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
    LiveMigrateData,
    MigrationMeta,
    MigrationProgress,
)


class DriverError(Exception):
    """The hypervisor failed an operation."""


class DriverNotSupported(DriverError):
    """The driver does not implement this operation."""


class InstanceNotOnHost(DriverError):
    """The hypervisor does not know the instance."""


class MigrationAborted(DriverError):
    """A live migration was cancelled (aborted by the user); the guest runs on the source."""


class SnapshotRefused(DriverError):
    """A snapshot made in place could not be used (Nova's ``ImageUnacceptable`` and
    ``Forbidden`` of a direct snapshot: no write access to the image pool, no pool to put
    it in, the image service refusing its location); the driver uploads the data instead."""


@dataclass(frozen=True)
class SnapshotTarget:
    """The image a snapshot becomes, for a driver that can make the image's data in the
    image service's own store (Nova's direct snapshot of an RBD root disk): its id, and
    ``publish``, which hands the image service the location the data is at (raises
    :class:`SnapshotRefused` when the service will not take it)."""

    image_id: str
    publish: Callable[[str], None]


@dataclass(frozen=True)
class VolumeConnector:
    """This host's side of a volume attachment (os-brick's connector properties), as the
    block storage service's attachments API takes it."""

    host: str
    ip: str
    initiator: str | None = None
    platform: str = "x86_64"
    os_type: str = "linux"
    multipath: bool = False

    def to_dict(self) -> dict[str, JSON]:
        found: dict[str, JSON] = {
            "host": self.host,
            "ip": self.ip,
            "platform": self.platform,
            "os_type": self.os_type,
            "multipath": self.multipath,
            "do_local_attach": False,
        }
        if self.initiator:
            found["initiator"] = self.initiator
        return found


class ComputeDriver(abc.ABC):
    """One hypervisor (one compute host)."""

    #: feature flags the agent and scheduler look at; ``waits_for_vif_plugged`` makes a
    #: build wait for ``network-vif-plugged`` events of ports that are not yet active
    capabilities: dict[str, bool] = {}

    # -- the host ------------------------------------------------------------------------------
    @abc.abstractmethod
    def init_host(self, context: CallContext, host: str) -> None:
        """Prepare the hypervisor; called once when the agent starts."""

    @abc.abstractmethod
    def get_available_resource(self, context: CallContext) -> HostResources:
        """The host's resources as the resource tracker reports them."""

    @abc.abstractmethod
    def list_instances(self, context: CallContext) -> list[str]:
        """The uuids of the instances the hypervisor runs."""

    @abc.abstractmethod
    def recover_instance(
        self, context: CallContext, instance: InstanceMeta, power_state: int
    ) -> None:
        """Re-attach to an instance the database places on this host, after a restart."""

    @abc.abstractmethod
    def get_info(self, context: CallContext, instance: InstanceMeta) -> InstanceInfo:
        """The instance's power state; raises :class:`InstanceNotOnHost`."""

    # -- life cycle ----------------------------------------------------------------------------
    @abc.abstractmethod
    def spawn(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        admin_password: str | None,
        block_devices: Sequence[BlockDevice] = (),
    ) -> None:
        """Create and start the instance: from its image, or from the volume of
        ``block_devices`` whose boot index is 0; the other attached volumes plugged in.
        Each block device has its ``connection_info`` already."""

    @abc.abstractmethod
    def destroy(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        destroy_disks: bool = True,
    ) -> None:
        """Stop and remove the instance (a missing instance is not an error)."""

    @abc.abstractmethod
    def rebuild(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        admin_password: str | None,
    ) -> None:
        """Recreate the instance's root disk from ``instance.image`` and start it."""

    @abc.abstractmethod
    def reboot(
        self, context: CallContext, instance: InstanceMeta, network_info: list[VIF], hard: bool
    ) -> None: ...

    @abc.abstractmethod
    def power_off(self, context: CallContext, instance: InstanceMeta, timeout: int = 0) -> None: ...

    @abc.abstractmethod
    def power_on(
        self, context: CallContext, instance: InstanceMeta, network_info: list[VIF]
    ) -> None: ...

    @abc.abstractmethod
    def pause(self, context: CallContext, instance: InstanceMeta) -> None: ...

    @abc.abstractmethod
    def unpause(self, context: CallContext, instance: InstanceMeta) -> None: ...

    @abc.abstractmethod
    def suspend(self, context: CallContext, instance: InstanceMeta) -> None: ...

    @abc.abstractmethod
    def resume(
        self, context: CallContext, instance: InstanceMeta, network_info: list[VIF]
    ) -> None: ...

    @abc.abstractmethod
    def trigger_crash_dump(self, context: CallContext, instance: InstanceMeta) -> None: ...

    @abc.abstractmethod
    def set_admin_password(
        self, context: CallContext, instance: InstanceMeta, new_password: str
    ) -> None: ...

    # -- images and rescue ---------------------------------------------------------------------
    @abc.abstractmethod
    def snapshot(
        self, context: CallContext, instance: InstanceMeta, target: SnapshotTarget | None = None
    ) -> DiskImage | None:
        """The instance's root disk as image data, or None when the driver made the data
        in the image's store itself and published it through ``target``."""

    @abc.abstractmethod
    def rescue(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        rescue_image: ImageMeta | None,
        rescue_password: str | None,
    ) -> None: ...

    @abc.abstractmethod
    def unrescue(self, context: CallContext, instance: InstanceMeta) -> None: ...

    # -- resize and cold migration -------------------------------------------------------------
    @abc.abstractmethod
    def migrate_disk_and_power_off(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        flavor: FlavorMeta,
        network_info: list[VIF],
    ) -> dict[str, JSON]:
        """Power off on the source and hand the disks over; returns disk info. The guest
        lets its volumes go (the agent ends their connections afterwards)."""

    @abc.abstractmethod
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
        """Bring the instance up on the destination with its new flavor; its volumes are
        ``block_devices``, connected for this host (upstream's ``block_device_info``
        with ``refresh_conn_info``)."""

    @abc.abstractmethod
    def confirm_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        network_info: list[VIF],
    ) -> None:
        """Remove what is left on the source after a confirmed resize."""

    @abc.abstractmethod
    def finish_revert_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        migration: MigrationMeta,
        network_info: list[VIF],
        power_on: bool,
        block_devices: Sequence[BlockDevice] = (),
    ) -> None:
        """Bring the instance back up on the source with its old flavor; its volumes are
        ``block_devices``, connected for this host again."""

    def instance_on_disk(self, context: CallContext, instance: InstanceMeta) -> bool:
        """Whether this host sees the instance's disks although it does not run it (shared
        storage): an evacuation keeps them (upstream's ``instance_on_disk``)."""
        return False

    # -- live migration (a driver without it keeps these defaults) ----------------------------
    def check_can_live_migrate_destination(
        self, context: CallContext, instance: InstanceMeta, block_migration: bool | None
    ) -> LiveMigrateData:
        """On the destination: can the instance come here? Leaves a shared-storage probe."""
        raise DriverNotSupported("live migration")

    def check_can_live_migrate_source(
        self, context: CallContext, instance: InstanceMeta, data: LiveMigrateData
    ) -> LiveMigrateData:
        """On the source: decide shared storage (the probe) and block migration."""
        raise DriverNotSupported("live migration")

    def cleanup_live_migration_destination_check(
        self, context: CallContext, data: LiveMigrateData
    ) -> None:
        """On the destination: remove the shared-storage probe."""
        return None

    def pre_live_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        block_devices: Sequence[BlockDevice],
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> LiveMigrateData:
        """On the destination: disks, taps, volumes and a guest waiting for the state."""
        raise DriverNotSupported("live migration")

    def live_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        data: LiveMigrateData,
        progress: Callable[[MigrationProgress], None],
    ) -> MigrationProgress:
        """On the source: move the running guest; MigrationAborted when cancelled (the
        guest then still runs here). Returns the last counters."""
        raise DriverNotSupported("live migration")

    def live_migration_abort(self, context: CallContext, instance: InstanceMeta) -> None:
        """On the source: cancel the running live migration."""
        raise DriverNotSupported("live migration abort")

    def live_migration_force_complete(self, context: CallContext, instance: InstanceMeta) -> None:
        """On the source: pause the guest so the running live migration converges."""
        raise DriverNotSupported("live migration force complete")

    def post_live_migration(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> None:
        """On the source, once the guest runs on the destination: remove what is left."""
        raise DriverNotSupported("live migration")

    def post_live_migration_at_destination(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> None:
        """On the destination: the guest is ours now."""
        raise DriverNotSupported("live migration")

    def rollback_live_migration_at_destination(
        self,
        context: CallContext,
        instance: InstanceMeta,
        network_info: list[VIF],
        data: LiveMigrateData,
    ) -> None:
        """On the destination, after a failed or aborted migration: remove the copy."""
        raise DriverNotSupported("live migration")

    # -- consoles and diagnostics --------------------------------------------------------------
    @abc.abstractmethod
    def get_console_output(self, context: CallContext, instance: InstanceMeta) -> str: ...

    @abc.abstractmethod
    def get_vnc_console(self, context: CallContext, instance: InstanceMeta) -> ConsoleInfo: ...

    def get_serial_console(self, context: CallContext, instance: InstanceMeta) -> ConsoleInfo:
        """Where the serial console proxy reaches the guest's serial port."""
        raise DriverNotSupported("this driver has no serial console")

    def get_stats(self, context: CallContext, instance: InstanceMeta) -> GuestStats | None:
        """The guest's counters for the telemetry poller; None when the driver has no real
        guest to measure (or it is not running)."""
        return None

    @abc.abstractmethod
    def get_diagnostics(self, context: CallContext, instance: InstanceMeta) -> dict[str, JSON]: ...

    # -- devices -------------------------------------------------------------------------------
    @abc.abstractmethod
    def attach_interface(self, context: CallContext, instance: InstanceMeta, vif: VIF) -> None: ...

    @abc.abstractmethod
    def detach_interface(self, context: CallContext, instance: InstanceMeta, vif: VIF) -> None: ...

    # -- volumes -------------------------------------------------------------------------------
    @abc.abstractmethod
    def get_volume_connector(self, context: CallContext, instance: InstanceMeta) -> VolumeConnector:
        """How the block storage service should export a volume for this host."""

    @abc.abstractmethod
    def attach_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, JSON],
        mountpoint: str,
    ) -> None:
        """Plug the volume into the guest (hot-plug when it runs; in any case from its next
        start on)."""

    @abc.abstractmethod
    def detach_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, JSON],
        mountpoint: str,
    ) -> None:
        """Unplug the volume (the guest must let it go); an unknown volume is not an error."""

    @abc.abstractmethod
    def extend_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, JSON],
        requested_size: int,
    ) -> None:
        """Tell the guest the volume grew to ``requested_size`` bytes."""

    def volume_snapshot_create(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, JSON],
        create_info: dict[str, JSON],
    ) -> None:
        """Snapshot an attached file volume for the block storage service (an assisted
        snapshot: the guest keeps writing to ``create_info['new_file']``)."""
        raise DriverError("assisted volume snapshots are not supported by this driver")

    def volume_snapshot_delete(
        self,
        context: CallContext,
        instance: InstanceMeta,
        connection_info: dict[str, JSON],
        snapshot_id: str,
        delete_info: dict[str, JSON],
    ) -> None:
        """Merge away an assisted snapshot of an attached volume."""
        raise DriverError("assisted volume snapshots are not supported by this driver")

    @abc.abstractmethod
    def swap_volume(
        self,
        context: CallContext,
        instance: InstanceMeta,
        old_connection_info: dict[str, JSON],
        new_connection_info: dict[str, JSON],
        mountpoint: str,
    ) -> None:
        """Copy the old volume's data to the new one while the guest runs, then make the
        guest's disk the new volume."""
