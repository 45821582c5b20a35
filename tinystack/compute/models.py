"""Compute tables.

Instances are soft-deleted (``deleted``), as upstream, so that instance actions
and ``changes-since`` listings still see them. Per-instance data that is only
ever read with the instance (metadata, flavor snapshots, addresses, the request
spec) lives in JSON columns; tags have their own table because lists filter on them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
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
LONGTEXT = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (
        Index("ix_instances_project_deleted_created", "project_id", "deleted", "created_at"),
        # covers the quota usage SUMs, so they never touch the table
        Index("ix_instances_project_usage", "project_id", "deleted", "vcpus", "memory_mb"),
        Index("ix_instances_deleted_created", "deleted", "created_at"),
        Index("ix_instances_host_deleted", "host", "deleted"),
        Index("ix_instances_updated_at", "updated_at"),
        Index("ix_instances_reservation_id", "reservation_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(UUID, unique=True)
    project_id: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str] = mapped_column(NAME)
    display_name: Mapped[str] = mapped_column(NAME, default="")
    display_description: Mapped[str | None] = mapped_column(Text)
    hostname: Mapped[str | None] = mapped_column(NAME)
    host: Mapped[str | None] = mapped_column(NAME)
    node: Mapped[str | None] = mapped_column(NAME)
    launched_on: Mapped[str | None] = mapped_column(NAME)
    availability_zone: Mapped[str | None] = mapped_column(NAME)
    flavorid: Mapped[str] = mapped_column(NAME)
    #: the current flavor's VCPUs and RAM, as columns so quota usage is a plain SUM
    vcpus: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb: Mapped[int] = mapped_column(Integer, default=0)
    flavor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    old_flavor: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new_flavor: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    image_ref: Mapped[str | None] = mapped_column(NAME)
    key_name: Mapped[str | None] = mapped_column(NAME)
    key_data: Mapped[str | None] = mapped_column(Text)
    user_data: Mapped[str | None] = mapped_column(LONGTEXT)
    vm_state: Mapped[str] = mapped_column(NAME)
    task_state: Mapped[str | None] = mapped_column(NAME)
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(16))
    locked_reason: Mapped[str | None] = mapped_column(Text)
    reservation_id: Mapped[str] = mapped_column(NAME)
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    config_drive: Mapped[str] = mapped_column(NAME, default="")
    access_ip_v4: Mapped[str | None] = mapped_column(String(39))
    access_ip_v6: Mapped[str | None] = mapped_column(String(39))
    root_device_name: Mapped[str | None] = mapped_column(NAME)
    kernel_id: Mapped[str] = mapped_column(NAME, default="")
    ramdisk_id: Mapped[str] = mapped_column(NAME, default="")
    auto_disk_config: Mapped[bool] = mapped_column(Boolean, default=False)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    user_metadata: Mapped[dict[str, str]] = mapped_column("metadata", JSON, default=dict)
    system_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    network_info: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    security_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    request_spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    trusted_certs: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    updated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    launched_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    terminated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    deleted_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class InstanceTag(Base):
    __tablename__ = "instance_tags"
    instance_uuid: Mapped[str] = mapped_column(
        ForeignKey("instances.uuid", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(60), primary_key=True, index=True)


class InstanceFault(Base):
    __tablename__ = "instance_faults"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(UUID, index=True)
    code: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(NAME)
    details: Mapped[str | None] = mapped_column(LONGTEXT)
    host: Mapped[str | None] = mapped_column(NAME)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)


class InstanceAction(Base):
    __tablename__ = "instance_actions"
    __table_args__ = (Index("ix_instance_actions_instance_request", "instance_uuid", "request_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(NAME)
    instance_uuid: Mapped[str] = mapped_column(UUID)
    request_id: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str | None] = mapped_column(NAME)
    project_id: Mapped[str | None] = mapped_column(NAME)
    start_time: Mapped[datetime] = mapped_column(TIMESTAMP)
    finish_time: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    message: Mapped[str | None] = mapped_column(NAME)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    updated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)


class InstanceActionEvent(Base):
    __tablename__ = "instance_action_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(
        ForeignKey("instance_actions.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(NAME)
    start_time: Mapped[datetime] = mapped_column(TIMESTAMP)
    finish_time: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    result: Mapped[str | None] = mapped_column(NAME)
    traceback: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(NAME)
    details: Mapped[str | None] = mapped_column(Text)


class Flavor(Base):
    __tablename__ = "flavors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavorid: Mapped[str] = mapped_column(NAME, unique=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    vcpu_weight: Mapped[int | None] = mapped_column(Integer)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text)
    extra_specs: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    updated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)


class FlavorProject(Base):
    __tablename__ = "flavor_projects"
    flavor_id: Mapped[int] = mapped_column(
        ForeignKey("flavors.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(NAME, primary_key=True)


class KeyPair(Base):
    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str] = mapped_column(NAME, index=True)
    fingerprint: Mapped[str] = mapped_column(NAME)
    public_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16), default="ssh")
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    updated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)


class Quota(Base):
    """A per-project (user_id NULL) or per-user limit that overrides the class default."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "user_id", "resource"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(NAME, index=True)
    user_id: Mapped[str | None] = mapped_column(NAME)
    resource: Mapped[str] = mapped_column(NAME)
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaClass(Base):
    __tablename__ = "quota_classes"
    __table_args__ = (UniqueConstraint("class_name", "resource"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    class_name: Mapped[str] = mapped_column(NAME)
    resource: Mapped[str] = mapped_column(NAME)
    hard_limit: Mapped[int] = mapped_column(Integer)


class Service(Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("host", "binary"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(UUID, unique=True)
    host: Mapped[str] = mapped_column(NAME)
    binary: Mapped[str] = mapped_column(NAME)
    topic: Mapped[str] = mapped_column(NAME)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(NAME)
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_up: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: what the service runs, reported when it registers (NULL: it predates the report)
    rpc_version: Mapped[str | None] = mapped_column(String(16))
    object_versions: Mapped[dict[str, str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    updated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)


class ComputeNode(Base):
    __tablename__ = "compute_nodes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(UUID, unique=True)
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), index=True
    )
    host: Mapped[str] = mapped_column(NAME, index=True)
    hypervisor_hostname: Mapped[str] = mapped_column(NAME, unique=True)
    hypervisor_type: Mapped[str] = mapped_column(NAME)
    hypervisor_version: Mapped[int] = mapped_column(Integer, default=1000)
    host_ip: Mapped[str | None] = mapped_column(String(39))
    cpu_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    local_gb: Mapped[int] = mapped_column(Integer)
    vcpus_used: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb_used: Mapped[int] = mapped_column(Integer, default=0)
    local_gb_used: Mapped[int] = mapped_column(Integer, default=0)
    running_vms: Mapped[int] = mapped_column(Integer, default=0)
    cpu_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    ram_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    disk_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    supported_instances: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    updated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)


class Aggregate(Base):
    __tablename__ = "aggregates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(UUID, unique=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    updated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)


class AggregateHost(Base):
    __tablename__ = "aggregate_hosts"
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("aggregates.id", ondelete="CASCADE"), primary_key=True
    )
    host: Mapped[str] = mapped_column(NAME, primary_key=True, index=True)


class AggregateMetadata(Base):
    __tablename__ = "aggregate_metadata"
    aggregate_id: Mapped[int] = mapped_column(
        ForeignKey("aggregates.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[str] = mapped_column(NAME)


class InstanceGroup(Base):
    __tablename__ = "instance_groups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(UUID, unique=True)
    name: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str] = mapped_column(NAME)
    project_id: Mapped[str] = mapped_column(NAME, index=True)
    policy: Mapped[str] = mapped_column(NAME)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)


class InstanceGroupMember(Base):
    __tablename__ = "instance_group_members"
    group_id: Mapped[int] = mapped_column(
        ForeignKey("instance_groups.id", ondelete="CASCADE"), primary_key=True
    )
    instance_uuid: Mapped[str] = mapped_column(UUID, primary_key=True, index=True)


class Migration(Base):
    __tablename__ = "migrations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(UUID, unique=True)
    instance_uuid: Mapped[str] = mapped_column(UUID, index=True)
    source_compute: Mapped[str | None] = mapped_column(NAME)
    dest_compute: Mapped[str | None] = mapped_column(NAME)
    source_node: Mapped[str | None] = mapped_column(NAME)
    dest_node: Mapped[str | None] = mapped_column(NAME)
    dest_host: Mapped[str | None] = mapped_column(NAME)
    old_flavor_id: Mapped[int | None] = mapped_column(Integer)
    new_flavor_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(NAME)
    migration_type: Mapped[str] = mapped_column(NAME)
    user_id: Mapped[str | None] = mapped_column(NAME)
    project_id: Mapped[str | None] = mapped_column(NAME)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    updated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
    #: a live migration's progress, as its source's hypervisor reports it
    memory_total: Mapped[int | None] = mapped_column(BigInteger)
    memory_processed: Mapped[int | None] = mapped_column(BigInteger)
    memory_remaining: Mapped[int | None] = mapped_column(BigInteger)
    disk_total: Mapped[int | None] = mapped_column(BigInteger)
    disk_processed: Mapped[int | None] = mapped_column(BigInteger)
    disk_remaining: Mapped[int | None] = mapped_column(BigInteger)


class ConsoleAuthToken(Base):
    __tablename__ = "console_auth_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    console_type: Mapped[str] = mapped_column(NAME)
    host: Mapped[str] = mapped_column(NAME)
    port: Mapped[int] = mapped_column(Integer)
    internal_access_path: Mapped[str | None] = mapped_column(NAME)
    instance_uuid: Mapped[str] = mapped_column(UUID, index=True)
    expires: Mapped[float] = mapped_column(Float)


class BlockDeviceMapping(Base):
    """A volume of an instance (Nova's block device mapping with ``destination_type`` volume).

    The root disk and the flavor's ephemeral and swap disks of an image-booted instance are
    the driver's and have no row. The unique constraints are what make concurrent attaches
    safe: one mapping per (instance, volume) and per (instance, device name).
    """

    __tablename__ = "block_device_mapping"
    __table_args__ = (
        UniqueConstraint("instance_uuid", "volume_id", name="uq_block_device_mapping_volume"),
        UniqueConstraint("instance_uuid", "device_name", name="uq_block_device_mapping_device"),
        Index("ix_block_device_mapping_volume_id", "volume_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(UUID, unique=True)
    instance_uuid: Mapped[str] = mapped_column(UUID, index=True)
    #: volume, image, snapshot or blank
    source_type: Mapped[str] = mapped_column(String(16))
    destination_type: Mapped[str] = mapped_column(String(16), default="volume")
    boot_index: Mapped[int | None] = mapped_column(Integer)
    device_name: Mapped[str | None] = mapped_column(NAME)
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    volume_id: Mapped[str | None] = mapped_column(UUID)
    snapshot_id: Mapped[str | None] = mapped_column(UUID)
    image_id: Mapped[str | None] = mapped_column(NAME)
    volume_size: Mapped[int | None] = mapped_column(Integer)
    volume_type: Mapped[str | None] = mapped_column(NAME)
    disk_bus: Mapped[str | None] = mapped_column(NAME)
    device_type: Mapped[str | None] = mapped_column(NAME)
    guest_format: Mapped[str | None] = mapped_column(NAME)
    tag: Mapped[str | None] = mapped_column(String(60))
    attachment_id: Mapped[str | None] = mapped_column(UUID)
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TIMESTAMP)
    updated_at: Mapped[datetime | None] = mapped_column(TIMESTAMP)
