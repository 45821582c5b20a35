"""What the image service layer returns: frozen records, detached from the database."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tinystack.common.rpc.payload import JSON
from tinystack.image import models
from tinystack.image.store.base import DataReader


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """An image as the API shows it."""

    id: str
    name: str | None
    status: str
    visibility: str
    owner: str | None
    protected: bool
    os_hidden: bool
    disk_format: str | None
    container_format: str | None
    min_disk: int
    min_ram: int
    size: int | None
    virtual_size: int | None
    checksum: str | None
    os_hash_algo: str | None
    os_hash_value: str | None
    store: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    properties: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    #: (url, metadata) of each copy, when the caller is shown them
    #: (``show_multiple_locations``); None otherwise
    locations: tuple[tuple[str, dict[str, JSON]], ...] | None = None
    #: the first location, when shown (``show_image_direct_url``)
    direct_url: str | None = None

    @classmethod
    def from_model(
        cls,
        image: models.Image,
        locations: tuple[tuple[str, dict[str, JSON]], ...] | None = None,
        *,
        direct_url: str | None = None,
    ) -> ImageRecord:
        return cls(
            id=image.id,
            name=image.name,
            status=image.status,
            visibility=image.visibility,
            owner=image.owner,
            protected=image.protected,
            os_hidden=image.os_hidden,
            disk_format=image.disk_format,
            container_format=image.container_format,
            min_disk=image.min_disk,
            min_ram=image.min_ram,
            size=image.size,
            virtual_size=image.virtual_size,
            checksum=image.checksum,
            os_hash_algo=image.os_hash_algo,
            os_hash_value=image.os_hash_value,
            store=image.store if image.location else None,
            created_at=image.created_at,
            updated_at=image.updated_at,
            properties={p.name: p.value for p in image.properties},
            tags=tuple(t.value for t in image.tags),
            locations=locations,
            direct_url=direct_url,
        )


@dataclass(frozen=True, slots=True)
class MemberRecord:
    image_id: str
    member_id: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_model(cls, member: models.ImageMember) -> MemberRecord:
        return cls(
            member.image_id, member.member, member.status, member.created_at, member.updated_at
        )


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """A task: an import (``GET /v2/images/{id}/tasks``) or one of ``/v2/tasks``."""

    id: str
    image_id: str | None
    type: str
    status: str
    owner: str | None
    user_id: str | None
    request_id: str | None
    #: what the task was asked to do and what came of it, as Glance shows them (JSON)
    input: JSON
    result: JSON
    message: str
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime | None

    @classmethod
    def from_model(cls, task: models.ImageTask) -> TaskRecord:
        return cls(
            id=task.id,
            image_id=task.image_id,
            type=task.type,
            status=task.status,
            owner=task.owner,
            user_id=task.user_id,
            request_id=task.request_id,
            input=task.input,
            result=task.result,
            message=task.message,
            created_at=task.created_at,
            updated_at=task.updated_at,
            expires_at=task.expires_at,
        )


@dataclass(frozen=True, slots=True)
class Usage:
    """One quota of ``GET /v2/info/usage``: its limit (-1: unlimited) and the usage."""

    name: str
    limit: int
    usage: int


@dataclass(frozen=True, slots=True)
class Download:
    """Image data to send: the reader covers ``offset`` .. ``offset + reader.size``."""

    reader: DataReader
    #: the whole image's size
    image_size: int
    offset: int
    checksum: str | None
    partial: bool


# -- metadata definitions -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TagRecord:
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ObjectRecord:
    name: str
    description: str | None
    required: tuple[str, ...]
    #: property name -> definition
    properties: dict[str, JSON]
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PropertyRecord:
    name: str
    #: the definition (title, type, enum, ...) without the name
    schema: dict[str, JSON]


@dataclass(frozen=True, slots=True)
class ResourceTypeRecord:
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class AssociationRecord:
    """A namespace's association with a resource type."""

    name: str
    prefix: str | None
    properties_target: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class NamespaceRecord:
    namespace: str
    display_name: str | None
    description: str | None
    visibility: str
    protected: bool
    owner: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    resource_type_associations: tuple[AssociationRecord, ...] = ()
    #: present on a namespace shown with its content (None: not loaded)
    properties: dict[str, JSON] | None = None
    objects: tuple[ObjectRecord, ...] | None = None
    tags: tuple[TagRecord, ...] | None = None
