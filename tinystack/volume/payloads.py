"""What the volume service's RPC carries: typed, versioned payloads (``common.rpc.payload``).

API → scheduler: a :class:`VolumeSpec` (where may this volume go?); scheduler → manager:
the same spec with the chosen ``host@backend#pool``; API → manager: the operation's own
small payloads. Add a field with a default and bump the minor version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from tinystack.common.rpc.payload import JSON, Payload


@dataclass(frozen=True)
class VolumeSpec(Payload):
    """A volume to place and create: its size, type, zone and source."""

    VERSION: ClassVar[str] = "1.0"
    volume_id: str
    project_id: str
    size: int
    volume_type_id: str | None = None
    #: the type's extra specs (the capabilities filter matches them)
    extra_specs: dict[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    #: clone of this volume (on its backend: ``source_host``)
    source_volid: str | None = None
    #: from this snapshot (on its volume's backend: ``source_host``)
    snapshot_id: str | None = None
    #: restore of this backup into the new volume (3.47)
    backup_id: str | None = None
    #: the contents of this image
    image_id: str | None = None
    #: the backend the source lives on (clones and snapshots stay there)
    source_host: str | None = None
    multiattach: bool = False
    group_id: str | None = None
    #: the pool the scheduler chose (``host@backend#pool``), set by the scheduler
    host: str | None = None


@dataclass(frozen=True)
class ExtendSpec(Payload):
    """An extend: the new size and the quota reservations to commit or roll back."""

    VERSION: ClassVar[str] = "1.0"
    volume_id: str
    new_size: int
    reservations: tuple[str, ...] = ()
    #: the volume is attached: tell compute (``volume-extended``) once the driver grew it
    attached: bool = False
    #: the instances to tell (attached volumes)
    instance_uuids: tuple[str, ...] = ()


@dataclass(frozen=True)
class RetypeSpec(Payload):
    """A retype: the new type and the quota reservations it moves between types."""

    VERSION: ClassVar[str] = "1.0"
    volume_id: str
    new_type_id: str
    reservations: tuple[str, ...] = ()
    #: the volume's status before ``retyping`` (restored when done)
    previous_status: str = "available"
    #: ``on-demand``: a new type the volume's backend cannot serve moves it to one that can
    migration_policy: str = "never"


@dataclass(frozen=True)
class MigrateSpec(Payload):
    """A migration to another backend (``os-migrate_volume``, or a retype with migration
    policy ``on-demand``): the destination pool and, for a retype, the new type."""

    VERSION: ClassVar[str] = "1.0"
    volume_id: str
    #: the volume's ``host@backend#pool`` (where its data is)
    source_host: str
    #: the destination ``host@backend#pool``
    dest_host: str
    new_type_id: str | None = None
    reservations: tuple[str, ...] = ()
    previous_status: str = "available"


@dataclass(frozen=True)
class AttachmentConnect(Payload):
    """Export a volume for one attachment (``PUT /attachments/{id}``, or a create with a
    connector; ``os-initialize_connection`` makes its own attachment first)."""

    VERSION: ClassVar[str] = "1.0"
    attachment_id: str
    volume_id: str
    #: os-brick's connector properties as the client sent them (``host`` at least;
    #: ``mountpoint`` and ``mode`` ride along, as upstream's connector carries them)
    connector: dict[str, JSON] = field(default_factory=dict)
    #: ``rw`` or ``ro`` as the attachment was created (3.54), else None: the connector's
    #: ``mode``, or ``ro`` for a readonly volume, or ``rw``
    mode: str | None = None
    #: ``os-initialize_connection`` (or a re-export): the volume's status stays, and an
    #: attached attachment stays attached
    legacy: bool = False


@dataclass(frozen=True)
class Connection(Payload):
    """What a client needs to open an attached volume: upstream's ``connection_info``
    (``driver_volume_type`` and the driver's ``data`` with ``qos_specs``, ``access_mode``,
    ``encrypted``, ``cacheable`` added by the manager)."""

    VERSION: ClassVar[str] = "1.0"
    attachment_id: str
    driver_volume_type: str
    data: dict[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True)
class ImageUpload(Payload):
    """``os-volume_upload_image``: the image record the API created, to fill with the data."""

    VERSION: ClassVar[str] = "1.0"
    volume_id: str
    image_id: str
    disk_format: str
    container_format: str = "bare"
    #: the volume's status before ``uploading`` (available or in-use)
    previous_status: str = "available"


@dataclass(frozen=True)
class SnapshotRequest(Payload):
    """A snapshot operation on a volume's backend: create, delete, or revert the volume
    to the snapshot. The manager reads the rest from the database."""

    VERSION: ClassVar[str] = "1.0"
    snapshot_id: str
    volume_id: str


@dataclass(frozen=True)
class SnapshotManageSpec(Payload):
    """Adopt the backend data ``reference`` as the ``creating`` snapshot of a volume."""

    VERSION: ClassVar[str] = "1.0"
    snapshot_id: str
    volume_id: str
    reference: dict[str, str] = field(default_factory=dict)


# -- backups ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BackupRequest(Payload):
    """A backup operation for the backup service (create, delete): the row says the rest."""

    VERSION: ClassVar[str] = "1.0"
    backup_id: str


@dataclass(frozen=True)
class RestoreRequest(Payload):
    """Restore a backup (``restoring``) into a volume (``restoring-backup``, or
    ``creating`` when the volume is new: a volume from a backup, 3.47)."""

    VERSION: ClassVar[str] = "1.0"
    backup_id: str
    volume_id: str
    volume_is_new: bool = False


@dataclass(frozen=True)
class DeviceRequest(Payload):
    """The backup service asks a volume manager for a volume's (or a snapshot's) bytes:
    an export for ``connector_host``, named ``attachment_id``."""

    VERSION: ClassVar[str] = "1.0"
    attachment_id: str
    volume_id: str
    connector_host: str
    #: read this snapshot instead of the volume
    snapshot_id: str | None = None
    #: read a temporary snapshot of the (in-use) volume taken now, with this id
    temp_snapshot_id: str | None = None
    #: open for writing (a restore)
    write: bool = False
    #: the volume was created for this restore and nothing has written it yet (the driver
    #: may lay it out for the restore's writes)
    new_volume: bool = False


@dataclass(frozen=True)
class Device(Payload):
    """How to open what a :class:`DeviceRequest` asked for (upstream's connection_info)."""

    VERSION: ClassVar[str] = "1.0"
    driver_volume_type: str
    data: dict[str, JSON] = field(default_factory=dict)
    #: bytes to read or write
    size: int = 0


@dataclass(frozen=True)
class BackupExport(Payload):
    """``export_record``'s answer and ``import_record``'s input."""

    VERSION: ClassVar[str] = "1.0"
    backup_service: str
    backup_url: str


@dataclass(frozen=True)
class GroupSpec(Payload):
    """A generic volume group to place: a backend that can host all its volume types."""

    VERSION: ClassVar[str] = "1.0"
    group_id: str
    availability_zone: str | None = None
    #: the extra specs of each of the group's volume types
    type_specs: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class ManageSpec(Payload):
    """Adopt the backend volume ``reference`` as the volume ``volume_id`` (``managing``)."""

    VERSION: ClassVar[str] = "1.0"
    volume_id: str
    reference: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ManageableEntry(Payload):
    """A backend volume the database does not know, as the driver lists it."""

    VERSION: ClassVar[str] = "1.0"
    reference: dict[str, str]
    size: int
    safe_to_manage: bool
    reason_not_safe: str | None = None
    cinder_id: str | None = None
    source_reference: dict[str, str] | None = None


@dataclass(frozen=True)
class ManageableList(Payload):
    VERSION: ClassVar[str] = "1.0"
    entries: tuple[ManageableEntry, ...] = ()


@dataclass(frozen=True)
class CleanupSpec(Payload):
    """``POST /workers/cleanup`` for one backend: replay its operations recorded before
    ``until`` (optionally only those of one resource)."""

    VERSION: ClassVar[str] = "1.0"
    until: str
    resource_type: str | None = None
    resource_id: str | None = None


@dataclass(frozen=True)
class ReimageSpec(Payload):
    """Rewrite the volume (``downloading``) with the image's contents (3.68)."""

    VERSION: ClassVar[str] = "1.0"
    volume_id: str
    image_id: str
    previous_status: str
    #: the volume was ``reserved`` (Nova's rebuild): tell compute when it is done
    reimage_reserved: bool = False
    instance_uuids: tuple[str, ...] = ()
    #: the image's properties, the volume's new ``volume_image_metadata``
    image_metadata: dict[str, str] = field(default_factory=dict)
