"""How the image API renders the service layer's records (Glance's JSON)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from tinystack.common.timeutils import isotime
from tinystack.image.services.records import ImageRecord, MemberRecord, TaskRecord

IMAGE_SCHEMA = "/v2/schemas/image"
MEMBER_SCHEMA = "/v2/schemas/member"


def image_href(image_id: str, sub: str = "") -> str:
    return f"/v2/images/{image_id}/{sub}" if sub else f"/v2/images/{image_id}"


def render_image(image: ImageRecord, order: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The image's JSON; ``order`` sorts its ``stores`` (by the stores' weights)."""
    view: dict[str, Any] = dict(image.properties)
    view.update(
        name=image.name,
        disk_format=image.disk_format,
        container_format=image.container_format,
        visibility=image.visibility,
        size=image.size,
        virtual_size=image.virtual_size,
        status=image.status,
        checksum=image.checksum,
        protected=image.protected,
        min_ram=image.min_ram,
        min_disk=image.min_disk,
        owner=image.owner,
        os_hidden=image.os_hidden,
        os_hash_algo=image.os_hash_algo,
        os_hash_value=image.os_hash_value,
        id=image.id,
        created_at=isotime(image.created_at),
        updated_at=isotime(image.updated_at),
        tags=list(image.tags),
        self=image_href(image.id),
        file=image_href(image.id, "file"),
        schema=IMAGE_SCHEMA,
    )
    if image.store:
        view["stores"] = order(image.store) if order else image.store
    if image.direct_url is not None:
        view["direct_url"] = image.direct_url
    if image.locations is not None:
        view["locations"] = [{"url": url, "metadata": meta} for url, meta in image.locations]
    return view


def render_member(member: MemberRecord) -> dict[str, Any]:
    return {
        "member_id": member.member_id,
        "image_id": member.image_id,
        "status": member.status,
        "created_at": isotime(member.created_at),
        "updated_at": isotime(member.updated_at),
        "schema": MEMBER_SCHEMA,
    }


def _task_time(value: dt.datetime | None) -> str | None:
    # Glance's task times always carry microseconds and no zone designator (only Glance
    # tasks use this format, so it is not one of tinystack.common.timeutils' formats)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value else None


def render_task(task: TaskRecord) -> dict[str, Any]:
    # Glance answers with request_id/user_id (what Tempest checks); its api-ref sample
    # spells them request-id/user: both are given
    return {
        "id": task.id,
        "image_id": task.image_id,
        "request_id": task.request_id,
        "request-id": task.request_id,
        "user_id": task.user_id,
        "user": task.user_id,
        "type": task.type,
        "status": task.status,
        "owner": task.owner,
        "expires_at": _task_time(task.expires_at),
        "created_at": _task_time(task.created_at),
        "updated_at": _task_time(task.updated_at),
        "deleted_at": None,
        "deleted": False,
        "input": task.input,
        "result": task.result,
        "message": task.message,
    }
