"""Frozen records the volume service layer returns (never ORM rows, never dicts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tinystack.common.rpc.payload import JSON


@dataclass(frozen=True, slots=True)
class AttachmentRecord:
    id: str
    volume_id: str
    attach_status: str
    attach_mode: str
    instance_uuid: str | None
    attached_host: str | None
    mountpoint: str | None
    attach_time: datetime | None
    detach_time: datetime | None
    connector: dict[str, JSON] | None
    connection_info: dict[str, JSON] | None
    project_id: str | None = None


@dataclass(frozen=True, slots=True)
class VolumeRecord:
    """A volume, every column, plus its metadata and attachments (built in one place,
    ``services/_rows.py``)."""

    id: str
    project_id: str
    user_id: str
    name: str | None
    description: str | None
    size: int
    status: str
    attach_status: str
    migration_status: str | None
    replication_status: str | None
    host: str | None
    cluster_name: str | None
    availability_zone: str | None
    provider_location: str | None
    provider_id: str | None
    bootable: bool
    multiattach: bool
    encrypted: bool
    encryption_key_id: str | None
    volume_type_id: str | None
    volume_type_name: str | None
    snapshot_id: str | None
    source_volid: str | None
    backup_id: str | None
    group_id: str | None
    consistencygroup_id: str | None
    use_quota: bool
    service_uuid: str | None
    shared_targets: bool
    created_at: datetime
    updated_at: datetime | None
    launched_at: datetime | None
    terminated_at: datetime | None
    metadata: dict[str, str] = field(default_factory=dict)
    admin_metadata: dict[str, str] = field(default_factory=dict)
    image_metadata: dict[str, str] = field(default_factory=dict)
    attachments: tuple[AttachmentRecord, ...] = ()


@dataclass(frozen=True, slots=True)
class VolumeTypeRecord:
    id: str
    name: str
    description: str | None
    is_public: bool
    qos_specs_id: str | None
    extra_specs: dict[str, str]
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class QoSSpecsRecord:
    id: str
    name: str
    consumer: str
    specs: dict[str, str]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class MessageRecord:
    id: str
    project_id: str
    request_id: str | None
    resource_type: str | None
    resource_uuid: str | None
    message_level: str
    event_id: str
    user_message: str
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    id: int
    uuid: str
    host: str
    binary: str
    topic: str
    availability_zone: str
    disabled: bool
    disabled_reason: str | None
    frozen: bool
    heartbeat_at: datetime | None
    #: the heartbeat is newer than ``service_down_time``
    up: bool
    replication_status: str
    active_backend_id: str | None
    cluster_name: str | None
    created_at: datetime
    updated_at: datetime | None
    capabilities: dict[str, JSON] | None = None


@dataclass(frozen=True, slots=True)
class GroupTypeRecord:
    id: str
    name: str
    description: str | None
    is_public: bool
    group_specs: dict[str, str]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class GroupRecord:
    id: str
    project_id: str
    user_id: str
    name: str | None
    description: str | None
    status: str
    host: str | None
    availability_zone: str | None
    group_type_id: str
    volume_type_ids: tuple[str, ...]
    volume_ids: tuple[str, ...]
    group_snapshot_id: str | None
    source_group_id: str | None
    replication_status: str | None
    created_at: datetime
