"""The contract between the volume manager and a volume driver.

The manager owns the database and the state machines; a driver owns bytes on a backend.
Every driver call is synchronous, may take long (the manager runs it off the RPC thread
and tracks the operation) and is idempotent where the docstring says so, because a
restarted manager replays what it finds unfinished.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tinystack.common.rpc.payload import JSON


@dataclass(frozen=True, slots=True)
class VolumeRef:
    """What a driver knows of a volume: its id and size (GiB)."""

    id: str
    size: int
    #: the driver's own location of the volume (``provider_location`` in the database)
    provider_location: str | None = None
    #: several guests may write it at once (its format must allow shared writers)
    multiattach: bool = False


@dataclass(frozen=True, slots=True)
class SnapshotRef:
    id: str
    volume_id: str
    volume_size: int
    provider_location: str | None = None


@dataclass(frozen=True, slots=True)
class Connector:
    """The compute host's side of an attachment (os-brick's connector properties)."""

    host: str
    ip: str | None = None
    initiator: str | None = None
    multipath: bool = False
    platform: str | None = None
    os_type: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """Upstream's ``connection_info``: ``driver_volume_type`` (``file``, ``nbd``,
    ``iscsi``, ``rbd``) and the ``data`` its client needs to open the volume."""

    driver_volume_type: str
    data: dict[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PoolStats:
    """One pool as the scheduler sees it (upstream's ``get_volume_stats`` pool)."""

    pool_name: str
    total_capacity_gb: float
    free_capacity_gb: float
    allocated_capacity_gb: float
    provisioned_capacity_gb: float
    reserved_percentage: int = 0
    max_over_subscription_ratio: float = 20.0
    thin_provisioning_support: bool = True
    thick_provisioning_support: bool = False
    multiattach: bool = True
    QoS_support: bool = True

    @classmethod
    def whole_backend(
        cls,
        backend_name: str,
        total_gb: float,
        free_gb: float,
        allocated_gb: dict[str, int],
        *,
        reserved_percentage: int,
        max_over_subscription_ratio: float,
    ) -> PoolStats:
        """The one pool of a backend that is one pool, named after it: allocated (and
        provisioned) is what the manager counts there, or all it counts when it keeps no
        count per pool."""
        allocated = float(allocated_gb.get(backend_name, sum(allocated_gb.values())))
        return cls(
            pool_name=backend_name,
            total_capacity_gb=total_gb,
            free_capacity_gb=free_gb,
            allocated_capacity_gb=allocated,
            provisioned_capacity_gb=allocated,
            reserved_percentage=reserved_percentage,
            max_over_subscription_ratio=max_over_subscription_ratio,
        )


@dataclass(frozen=True, slots=True)
class BackendStats:
    """What a manager reports for its backend (``get_volume_stats``)."""

    volume_backend_name: str
    vendor_name: str
    driver_version: str
    storage_protocol: str
    pools: tuple[PoolStats, ...]


@dataclass(frozen=True, slots=True)
class ManageableVolume:
    """A volume on the backend that the database does not know (``manageable_volumes``)."""

    reference: dict[str, str]
    size: int
    safe_to_manage: bool
    reason_not_safe: str | None = None
    cinder_id: str | None = None
    #: a snapshot's volume (``manageable_snapshots``), as a reference
    source_reference: dict[str, str] | None = None


class VolumeDriver(abc.ABC):
    """A volume backend. Sizes are GiB; ``create_*`` and ``delete_*`` are idempotent (a
    replay after a crash finishes the work or finds it done)."""

    @abc.abstractmethod
    def do_setup(self) -> None:
        """Prepare the backend (directories, daemons); called once at manager start."""

    @abc.abstractmethod
    def get_volume_stats(self, allocated_gb: dict[str, int]) -> BackendStats:
        """Current capacity; ``allocated_gb`` is the manager's per-pool sum of volume
        sizes (the driver knows bytes, the manager knows what it promised)."""

    @abc.abstractmethod
    def create_volume(self, volume: VolumeRef) -> str | None:
        """Create an empty volume; returns its provider_location (or None)."""

    def retype(self, volume: VolumeRef) -> str | None:
        """Lay an unattached volume out for its new type (``volume.multiattach`` is the
        new type's); returns a new provider_location, or None when nothing changed."""
        del volume
        return None

    def create_volume_for_restore(self, volume: VolumeRef) -> str | None:
        """An empty volume a backup is about to be restored into in full (or, when it
        exists, one that was just created empty for that); a driver may lay it out for
        fast writes. Returns its provider_location (or None)."""
        return self.create_volume(volume)

    @abc.abstractmethod
    def create_volume_from_image(
        self, volume: VolumeRef, image: Path, image_format: str
    ) -> str | None:
        """A volume whose contents are the (cached, verified) image file at ``image``,
        copy-on-write where the backend can; grown to ``volume.size``."""

    def clone_image(self, volume: VolumeRef, locations: list[str], disk_format: str) -> bool:
        """Make the volume from one of the image's ``locations`` (``direct_url`` and
        ``locations``) within the backend, without a download (upstream's
        ``clone_image``); False: the manager copies the image through the cache."""
        del volume, locations, disk_format
        return False

    @abc.abstractmethod
    def create_cloned_volume(self, volume: VolumeRef, source: VolumeRef) -> str | None:
        """A volume with the contents of ``source`` (grown to ``volume.size``)."""

    @abc.abstractmethod
    def create_volume_from_snapshot(self, volume: VolumeRef, snapshot: SnapshotRef) -> str | None:
        """A volume with the contents of ``snapshot`` (grown to ``volume.size``)."""

    @abc.abstractmethod
    def delete_volume(self, volume: VolumeRef) -> None:
        """Remove the volume's data; a missing volume is not an error."""

    @abc.abstractmethod
    def extend_volume(self, volume: VolumeRef, new_size: int) -> None:
        """Grow the volume to ``new_size`` GiB (also while exported); ``GuestMustResize``
        when only the guest's QEMU holding it can."""

    @abc.abstractmethod
    def create_snapshot(self, snapshot: SnapshotRef) -> str | None:
        """A point-in-time copy of the snapshot's volume (also while attached)."""

    @abc.abstractmethod
    def delete_snapshot(self, snapshot: SnapshotRef) -> None:
        """Remove the snapshot; volumes created from it keep their data."""

    @abc.abstractmethod
    def revert_to_snapshot(self, volume: VolumeRef, snapshot: SnapshotRef) -> None:
        """Make the volume's contents those of its (latest) snapshot."""

    @abc.abstractmethod
    def initialize_connection(
        self, volume: VolumeRef, connector: Connector, attachment_id: str
    ) -> ConnectionInfo:
        """Export the volume for ``connector`` (one export per attachment: a local file
        for the storage host itself, an NBD export otherwise) and say how to open it."""

    @abc.abstractmethod
    def terminate_connection(self, volume: VolumeRef, attachment_id: str) -> None:
        """Remove the attachment's export; an unknown attachment is not an error."""

    def initialize_snapshot_connection(
        self, snapshot: SnapshotRef, connector: Connector, attachment_id: str
    ) -> ConnectionInfo:
        """Export a snapshot read-only for ``connector`` (the backup service reads
        snapshots this way: upstream's ``initialize_connection_snapshot``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot export snapshots")

    def terminate_snapshot_connection(self, snapshot: SnapshotRef, attachment_id: str) -> None:
        """Remove a snapshot's export; an unknown attachment is not an error."""
        raise NotImplementedError(f"{type(self).__name__} cannot export snapshots")

    @abc.abstractmethod
    def exports(self) -> list[str]:
        """The attachment ids the backend currently exports (restart reconciliation)."""

    @abc.abstractmethod
    def volume_ids(self) -> list[str]:
        """The volume ids the backend holds data for (orphan cleanup after a crash)."""

    @abc.abstractmethod
    def copy_volume_to_file(self, volume: VolumeRef, dest: Path, disk_format: str) -> None:
        """Write the volume as an image file (``os-volume_upload_image``)."""

    @abc.abstractmethod
    def open_volume(self, volume: VolumeRef, write: bool) -> AbstractContextManager[BinaryIO]:
        """The volume's raw bytes as a file (backups read it, restores write it)."""

    @abc.abstractmethod
    def get_manageable_volumes(self) -> list[ManageableVolume]:
        """Volumes on the backend that no database row claims."""

    @abc.abstractmethod
    def manage_existing(
        self, volume: VolumeRef, reference: dict[str, str]
    ) -> tuple[int, str | None]:
        """Adopt a backend volume as ``volume``; returns (size GiB, provider_location)."""

    @abc.abstractmethod
    def unmanage(self, volume: VolumeRef) -> None:
        """Forget the volume without deleting its data."""

    def get_manageable_snapshots(self) -> list[ManageableVolume]:
        """Snapshots on the backend that no database row claims (none by default)."""
        return []

    def manage_existing_snapshot(
        self, snapshot: SnapshotRef, reference: dict[str, str]
    ) -> tuple[int, str | None]:
        """Adopt backend snapshot data as ``snapshot``; returns (size GiB, location)."""
        raise NotImplementedError("this backend cannot manage snapshots")

    def unmanage_snapshot(self, snapshot: SnapshotRef) -> None:
        """Forget the snapshot without deleting its data."""
        raise NotImplementedError("this backend cannot unmanage snapshots")


def chunks(stream: BinaryIO, size: int) -> Iterator[bytes]:
    """``stream`` read in ``size``-byte chunks (the last may be shorter)."""
    while True:
        block = stream.read(size)
        if not block:
            return
        yield block
