"""What every part of the image service layer shares: dependencies, records, helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from oslo_config import cfg
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.exceptions import Conflict, RequestEntityTooLarge
from tinystack.image import models
from tinystack.image.store import Store
from tinystack.image.validation import Formats

#: statuses in which an image counts as "being uploaded" for image_count_uploading
UPLOADING_STATUSES = ("saving", "uploading", "importing")


@dataclass
class Deps:
    """The image service's collaborators, built once by the app factory."""

    db: Database
    store: Store
    staging: Store
    conf: cfg.ConfigOpts

    @property
    def opts(self) -> Any:
        return self.conf.image

    @property
    def formats(self) -> Formats:
        return Formats(
            disk=list(self.opts.disk_formats), container=list(self.opts.container_formats)
        )


@dataclass(frozen=True)
class ImageRecord:
    """An image as the API shows it, detached from the database."""

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
    tags: list[str] = field(default_factory=list)

    @classmethod
    def from_model(cls, image: models.Image) -> ImageRecord:
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
            tags=[t.value for t in image.tags],
        )


@dataclass(frozen=True)
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


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def within_limit(limit: int, count: int) -> bool:
    return limit < 0 or count <= limit


def enforce_count(limit: int, count: int, what: str) -> None:
    """Raise 413 when ``count`` things exceed a -1-means-unlimited ``limit``."""
    if not within_limit(limit, count):
        raise RequestEntityTooLarge(f"Maximum number of {what} exceeded: {count} > {limit}")


def lock_status(session: Session, image_id: str, expected: tuple[str, ...], new: str) -> bool:
    """Atomically move an image from one of ``expected`` statuses to ``new``."""
    result = session.execute(
        update(models.Image)
        .where(
            models.Image.id == image_id,
            models.Image.deleted.is_(False),
            models.Image.status.in_(expected),
        )
        .values(status=new, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def transition_error(current: str, new: str) -> Conflict:
    return Conflict(f"Image status transition from {current} to {new} is not allowed")


def get_row(session: Session, image_id: str) -> models.Image | None:
    image: models.Image | None = session.execute(
        select(models.Image).where(models.Image.id == image_id, models.Image.deleted.is_(False))
    ).scalar_one_or_none()
    return image
