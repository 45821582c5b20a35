"""Block storage tables.

Rows are deleted for good (no soft-delete columns): a deleted volume, snapshot or backup
is gone from every list, as upstream clients see it, and names stay unique only where
upstream makes them unique (volume types, QoS specs, group types). Per-volume key/value
data (metadata, admin metadata, image metadata) has its own tables because lists filter
on them. Long operations are tracked in ``workers`` so that a restarted manager finishes
or fails what it finds there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

UUID = String(36)
NAME = String(255)
#: microseconds on MySQL/MariaDB too
TIMESTAMP = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class _Stamped:
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    updated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)


# -- volumes ------------------------------------------------------------------------------
class Volume(_Stamped, Base):
    __tablename__ = "volumes"
    __table_args__ = (
        Index("ix_volumes_project_created", "project_id", "created_at"),
        Index("ix_volumes_host", "host"),
        Index("ix_volumes_status", "status"),
        Index("ix_volumes_volume_type_id", "volume_type_id"),
        Index("ix_volumes_group_id", "group_id"),
    )
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str] = mapped_column(NAME)
    display_name: Mapped[str | None] = mapped_column(NAME)
    display_description: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(Integer)
    #: creating, available, reserved, attaching, in-use, detaching, deleting, error,
    #: error_deleting, extending, error_extending, downloading, uploading, retyping,
    #: backing-up, restoring-backup, maintenance, awaiting-transfer, error_restoring,
    #: error_managing, managing, reverting
    status: Mapped[str] = mapped_column(String(64))
    #: attached, detached, attaching, detaching, error_attaching, error_detaching
    attach_status: Mapped[str] = mapped_column(String(64), default="detached")
    migration_status: Mapped[str | None] = mapped_column(String(64))
    replication_status: Mapped[str | None] = mapped_column(String(64))
    #: ``host@backend#pool`` once scheduled
    host: Mapped[str | None] = mapped_column(NAME)
    cluster_name: Mapped[str | None] = mapped_column(NAME)
    availability_zone: Mapped[str | None] = mapped_column(NAME)
    provider_location: Mapped[str | None] = mapped_column(NAME)
    provider_id: Mapped[str | None] = mapped_column(NAME)
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False)
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    encryption_key_id: Mapped[str | None] = mapped_column(UUID)
    volume_type_id: Mapped[str | None] = mapped_column(UUID)
    snapshot_id: Mapped[str | None] = mapped_column(UUID)
    source_volid: Mapped[str | None] = mapped_column(UUID)
    backup_id: Mapped[str | None] = mapped_column(UUID)
    image_id: Mapped[str | None] = mapped_column(UUID)
    group_id: Mapped[str | None] = mapped_column(UUID)
    consistencygroup_id: Mapped[str | None] = mapped_column(UUID)
    #: False for volumes created by upstream's internal tenant (never here): quota counted
    use_quota: Mapped[bool] = mapped_column(Boolean, default=True)
    service_uuid: Mapped[str | None] = mapped_column(UUID)
    shared_targets: Mapped[bool] = mapped_column(Boolean, default=True)
    launched_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    terminated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    #: the last error a worker recorded (shown to admins in logs, not in the API)
    fault: Mapped[str | None] = mapped_column(Text)


class VolumeMetadata(Base):
    __tablename__ = "volume_metadata"
    volume_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("volumes.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(String(255), default="")


class VolumeAdminMetadata(Base):
    __tablename__ = "volume_admin_metadata"
    volume_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("volumes.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(String(255), default="")


class VolumeGlanceMetadata(Base):
    """The image properties a volume (or snapshot) inherited (``volume_image_metadata``)."""

    __tablename__ = "volume_glance_metadata"
    __table_args__ = (
        UniqueConstraint("volume_id", "snapshot_id", "key", name="uq_volume_glance_metadata"),
        Index("ix_volume_glance_metadata_snapshot", "snapshot_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volume_id: Mapped[str | None] = mapped_column(
        UUID, ForeignKey("volumes.id", ondelete="CASCADE")
    )
    snapshot_id: Mapped[str | None] = mapped_column(UUID)
    key: Mapped[str] = mapped_column(NAME)
    value: Mapped[str] = mapped_column(Text, default="")


class VolumeAttachment(_Stamped, Base):
    __tablename__ = "volume_attachment"
    __table_args__ = (
        Index("ix_volume_attachment_volume", "volume_id"),
        Index("ix_volume_attachment_instance", "instance_uuid"),
    )
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    volume_id: Mapped[str] = mapped_column(UUID, ForeignKey("volumes.id", ondelete="CASCADE"))
    project_id: Mapped[str | None] = mapped_column(NAME)
    #: reserved, attaching, attached, detaching, detached, error_attaching, error_detaching
    attach_status: Mapped[str] = mapped_column(String(64), default="reserved")
    #: rw or ro
    attach_mode: Mapped[str] = mapped_column(String(36), default="rw")
    instance_uuid: Mapped[str | None] = mapped_column(UUID)
    attached_host: Mapped[str | None] = mapped_column(NAME)
    mountpoint: Mapped[str | None] = mapped_column(NAME)
    attach_time: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    detach_time: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    connector: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# -- volume types and QoS -----------------------------------------------------------------
class VolumeType(_Stamped, Base):
    __tablename__ = "volume_types"
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str | None] = mapped_column(NAME)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    qos_specs_id: Mapped[str | None] = mapped_column(
        UUID, ForeignKey("quality_of_service_specs.id")
    )


class VolumeTypeExtraSpec(Base):
    __tablename__ = "volume_type_extra_specs"
    volume_type_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(NAME, default="")


class VolumeTypeProject(Base):
    """Projects that may use a private volume type."""

    __tablename__ = "volume_type_projects"
    volume_type_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(NAME, primary_key=True)


class Encryption(_Stamped, Base):
    """A volume type's encryption specs (``/types/{id}/encryption``): one per type."""

    __tablename__ = "encryption"
    encryption_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    volume_type_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("volume_types.id", ondelete="CASCADE"), unique=True
    )
    provider: Mapped[str] = mapped_column(NAME)
    cipher: Mapped[str | None] = mapped_column(NAME)
    key_size: Mapped[int | None] = mapped_column(Integer)
    #: front-end (the compute host) or back-end (the storage)
    control_location: Mapped[str] = mapped_column(String(255))


class DefaultVolumeType(Base):
    """A project's default volume type (3.62)."""

    __tablename__ = "default_volume_types"
    project_id: Mapped[str] = mapped_column(NAME, primary_key=True)
    volume_type_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("volume_types.id", ondelete="CASCADE")
    )
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)


class QualityOfServiceSpecs(_Stamped, Base):
    __tablename__ = "quality_of_service_specs"
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    #: front-end, back-end or both
    consumer: Mapped[str] = mapped_column(String(36), default="back-end")
    specs: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)


# -- snapshots and backups ----------------------------------------------------------------
class Snapshot(_Stamped, Base):
    __tablename__ = "snapshots"
    __table_args__ = (
        Index("ix_snapshots_volume", "volume_id"),
        Index("ix_snapshots_project_created", "project_id", "created_at"),
        Index("ix_snapshots_group_snapshot", "group_snapshot_id"),
    )
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    volume_id: Mapped[str] = mapped_column(UUID)
    project_id: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str] = mapped_column(NAME)
    #: creating, available, deleting, error, error_deleting, unmanaging, backing-up,
    #: restoring
    status: Mapped[str] = mapped_column(String(64))
    progress: Mapped[str | None] = mapped_column(String(255))
    volume_size: Mapped[int] = mapped_column(Integer)
    display_name: Mapped[str | None] = mapped_column(NAME)
    display_description: Mapped[str | None] = mapped_column(Text)
    volume_type_id: Mapped[str | None] = mapped_column(UUID)
    provider_location: Mapped[str | None] = mapped_column(NAME)
    provider_id: Mapped[str | None] = mapped_column(NAME)
    group_snapshot_id: Mapped[str | None] = mapped_column(UUID)
    use_quota: Mapped[bool] = mapped_column(Boolean, default=True)
    encryption_key_id: Mapped[str | None] = mapped_column(UUID)


class SnapshotMetadata(Base):
    __tablename__ = "snapshot_metadata"
    snapshot_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(String(255), default="")


class Backup(_Stamped, Base):
    __tablename__ = "backups"
    __table_args__ = (
        Index("ix_backups_volume", "volume_id"),
        Index("ix_backups_project_created", "project_id", "created_at"),
        Index("ix_backups_parent", "parent_id"),
    )
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    volume_id: Mapped[str] = mapped_column(UUID)
    snapshot_id: Mapped[str | None] = mapped_column(UUID)
    project_id: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str] = mapped_column(NAME)
    host: Mapped[str | None] = mapped_column(NAME)
    availability_zone: Mapped[str | None] = mapped_column(NAME)
    display_name: Mapped[str | None] = mapped_column(NAME)
    display_description: Mapped[str | None] = mapped_column(Text)
    #: creating, available, deleting, error, error_deleting, restoring
    status: Mapped[str] = mapped_column(String(64))
    fail_reason: Mapped[str | None] = mapped_column(Text)
    restore_volume_id: Mapped[str | None] = mapped_column(UUID)
    size: Mapped[int] = mapped_column(Integer)
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    container: Mapped[str | None] = mapped_column(NAME)
    parent_id: Mapped[str | None] = mapped_column(UUID)
    num_dependent_backups: Mapped[int] = mapped_column(Integer, default=0)
    service: Mapped[str | None] = mapped_column(NAME)
    service_metadata: Mapped[str | None] = mapped_column(Text)
    temp_volume_id: Mapped[str | None] = mapped_column(UUID)
    temp_snapshot_id: Mapped[str | None] = mapped_column(UUID)
    data_timestamp: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    encryption_key_id: Mapped[str | None] = mapped_column(UUID)


class BackupMetadata(Base):
    __tablename__ = "backup_metadata"
    backup_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("backups.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(String(255), default="")


class Transfer(_Stamped, Base):
    __tablename__ = "transfers"
    __table_args__ = (Index("ix_transfers_volume", "volume_id"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    volume_id: Mapped[str] = mapped_column(UUID, ForeignKey("volumes.id", ondelete="CASCADE"))
    display_name: Mapped[str | None] = mapped_column(NAME)
    salt: Mapped[str] = mapped_column(String(255))
    crypt_hash: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    source_project_id: Mapped[str | None] = mapped_column(NAME)
    destination_project_id: Mapped[str | None] = mapped_column(NAME)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    no_snapshots: Mapped[bool] = mapped_column(Boolean, default=False)


# -- quotas ---------------------------------------------------------------------------------
class Quota(_Stamped, Base):
    """A project's limit for one resource (``volumes``, ``gigabytes_<type>``, ...)."""

    __tablename__ = "quotas"
    project_id: Mapped[str] = mapped_column(NAME, primary_key=True)
    resource: Mapped[str] = mapped_column(NAME, primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)
    allocated: Mapped[int] = mapped_column(Integer, default=0)


class QuotaClass(_Stamped, Base):
    __tablename__ = "quota_classes"
    class_name: Mapped[str] = mapped_column(NAME, primary_key=True)
    resource: Mapped[str] = mapped_column(NAME, primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaUsage(_Stamped, Base):
    """What a project uses of one resource: ``in_use`` plus ``reserved`` (in flight)."""

    __tablename__ = "quota_usages"
    project_id: Mapped[str] = mapped_column(NAME, primary_key=True)
    resource: Mapped[str] = mapped_column(NAME, primary_key=True)
    in_use: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0)


class Reservation(Base):
    """A quota delta in flight (an extend, a retype): committed into ``in_use`` or rolled
    back; one that expires is rolled back."""

    __tablename__ = "reservations"
    __table_args__ = (Index("ix_reservations_expire", "expire"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(NAME)
    resource: Mapped[str] = mapped_column(NAME)
    delta: Mapped[int] = mapped_column(BigInteger)
    expire: Mapped[datetime] = mapped_column(TIMESTAMP)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)


# -- messages, services, workers ------------------------------------------------------------
class Message(Base):
    """A user message (3.3): what went wrong with a resource, for its project to read."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_project_created", "project_id", "created_at"),
        Index("ix_messages_expires", "expires_at"),
    )
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(NAME)
    request_id: Mapped[str | None] = mapped_column(NAME)
    resource_type: Mapped[str | None] = mapped_column(String(36))
    resource_uuid: Mapped[str | None] = mapped_column(String(36))
    #: "ERROR" (upstream's only level)
    message_level: Mapped[str] = mapped_column(String(255), default="ERROR")
    #: upstream's event id, e.g. VOLUME_VOLUME_001_002
    event_id: Mapped[str] = mapped_column(String(255))
    detail_id: Mapped[str | None] = mapped_column(String(10))
    action_id: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    expires_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)


class Service(_Stamped, Base):
    """A cinder-scheduler or cinder-volume (one per backend) and its heartbeat; a volume
    service's ``capabilities`` are its last reported :class:`BackendStats`."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary", name="uq_services_host_binary"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(UUID, unique=True)
    #: ``host`` (scheduler) or ``host@backend`` (volume)
    host: Mapped[str] = mapped_column(NAME)
    binary: Mapped[str] = mapped_column(NAME)
    topic: Mapped[str] = mapped_column(NAME)
    availability_zone: Mapped[str] = mapped_column(NAME, default="nova")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(NAME)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the last heartbeat
    heartbeat_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    replication_status: Mapped[str] = mapped_column(String(36), default="not-capable")
    active_backend_id: Mapped[str | None] = mapped_column(NAME)
    cluster_name: Mapped[str | None] = mapped_column(NAME)
    capabilities: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rpc_current_version: Mapped[str | None] = mapped_column(String(36))
    object_current_version: Mapped[str | None] = mapped_column(String(36))


class Worker(_Stamped, Base):
    """A long operation in flight on a resource (upstream's ``workers``): which service
    runs it and what it is, so that a restart finishes or fails it."""

    __tablename__ = "workers"
    __table_args__ = (
        UniqueConstraint("resource_type", "resource_id", name="uq_workers_resource"),
        Index("ix_workers_service", "service_host"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Volume, Snapshot, Backup, Group, GroupSnapshot, Attachment
    resource_type: Mapped[str] = mapped_column(String(40))
    resource_id: Mapped[str] = mapped_column(UUID)
    #: the resource's status the operation runs in (creating, deleting, extending, ...)
    status: Mapped[str] = mapped_column(String(255))
    #: what runs: create, delete, extend, clone, from_image, upload, backup, restore, ...
    operation: Mapped[str] = mapped_column(String(64))
    #: ``host@backend`` of the manager running it
    service_host: Mapped[str | None] = mapped_column(NAME)
    #: what the operation needs to be replayed (e.g. the new size of an extend)
    args: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# -- groups ---------------------------------------------------------------------------------
class GroupType(_Stamped, Base):
    __tablename__ = "group_types"
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str | None] = mapped_column(NAME)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)


class GroupTypeSpec(Base):
    __tablename__ = "group_type_specs"
    group_type_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("group_types.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(NAME, default="")


class GroupTypeProject(Base):
    __tablename__ = "group_type_projects"
    group_type_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("group_types.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(NAME, primary_key=True)


class Group(_Stamped, Base):
    __tablename__ = "groups"
    __table_args__ = (Index("ix_groups_project_created", "project_id", "created_at"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    project_id: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str] = mapped_column(NAME)
    host: Mapped[str | None] = mapped_column(NAME)
    cluster_name: Mapped[str | None] = mapped_column(NAME)
    availability_zone: Mapped[str | None] = mapped_column(NAME)
    name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(NAME)
    group_type_id: Mapped[str] = mapped_column(UUID)
    #: creating, available, updating, deleting, error, error_deleting, in-use
    status: Mapped[str] = mapped_column(String(64))
    group_snapshot_id: Mapped[str | None] = mapped_column(UUID)
    source_group_id: Mapped[str | None] = mapped_column(UUID)
    replication_status: Mapped[str | None] = mapped_column(String(64))


class GroupVolumeTypeMapping(Base):
    __tablename__ = "group_volume_type_mapping"
    group_id: Mapped[str] = mapped_column(
        UUID, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    volume_type_id: Mapped[str] = mapped_column(UUID, primary_key=True)


class GroupSnapshot(_Stamped, Base):
    __tablename__ = "group_snapshots"
    __table_args__ = (Index("ix_group_snapshots_group", "group_id"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True)
    group_id: Mapped[str] = mapped_column(UUID)
    project_id: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str] = mapped_column(NAME)
    name: Mapped[str | None] = mapped_column(NAME)
    description: Mapped[str | None] = mapped_column(NAME)
    status: Mapped[str] = mapped_column(String(64))
    group_type_id: Mapped[str | None] = mapped_column(UUID)
