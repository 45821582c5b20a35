"""Dependencies and rendering shared by the image API modules."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request

from tinystack.common.exceptions import BadRequest
from tinystack.image.services.common import ImageRecord, MemberRecord
from tinystack.image.services.image_data import ImageData
from tinystack.image.services.image_members import ImageMembers
from tinystack.image.services.images import Images

IMAGE_SCHEMA = "/v2/schemas/image"
MEMBER_SCHEMA = "/v2/schemas/member"


def _images(request: Request) -> Images:
    images: Images = request.app.state.images
    return images


def _image_data(request: Request) -> ImageData:
    data: ImageData = request.app.state.image_data
    return data


def _members(request: Request) -> ImageMembers:
    members: ImageMembers = request.app.state.image_members
    return members


ImagesDep = Annotated[Images, Depends(_images)]
ImageDataDep = Annotated[ImageData, Depends(_image_data)]
MembersDep = Annotated[ImageMembers, Depends(_members)]


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("Body expected in request.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON in request body.") from None


JsonBody = Annotated[Any, Depends(read_json)]


def isotime(value: Any) -> str:
    return f"{value:%Y-%m-%dT%H:%M:%S}Z"


def image_href(image_id: str, sub: str = "") -> str:
    return f"/v2/images/{image_id}/{sub}" if sub else f"/v2/images/{image_id}"


def render_image(image: ImageRecord) -> dict[str, Any]:
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
        view["stores"] = image.store
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
