"""FastAPI dependencies of the image handlers: the service's ``Deps`` and the checked bodies.

Glance reads its JSON bodies itself (an empty body, malformed JSON and every
schema violation have their own messages and statuses), so the body
dependencies below read the raw body and check it with the service layer's
attribute rules; ``api/schemas.py`` describes the same bodies for OpenAPI.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request

from tinystack.common.exceptions import BadRequest
from tinystack.image.exception import PatchMediaTypeError
from tinystack.image.services import (
    image_attributes,
    image_import,
    image_members,
    legacy_import,
    metadef_namespaces,
    metadef_objects,
    metadef_properties,
    metadef_resource_types,
    metadef_tags,
)
from tinystack.image.services.deps import Deps
from tinystack.image.services.image_attributes import Change, CreateRequest
from tinystack.image.services.image_import import ImportRequest
from tinystack.image.services.metadef_namespaces import NamespaceSpec, ObjectSpec
from tinystack.image.services.metadef_properties import PropertySpec
from tinystack.image.services.metadef_resource_types import Association


def _deps(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise BadRequest("Body expected in request.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON in request body.") from None


JsonBody = Annotated[Any, Depends(read_json)]


def _create_request(body: JsonBody, deps: DepsDep) -> CreateRequest:
    return image_attributes.parse_create(body, deps.formats)


def _patch_draft(request: Request) -> int:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in image_attributes.PATCH_MEDIA_TYPES:
        raise PatchMediaTypeError(image_attributes.PATCH_MEDIA_TYPES)
    return image_attributes.PATCH_MEDIA_TYPES[media_type]


async def _patch_body(request: Request) -> tuple[int, Any]:
    """The patch media type's draft (415 first, as upstream) and the parsed body."""
    draft = _patch_draft(request)
    return draft, await read_json(request)


def _changes(
    patch: Annotated[tuple[int, Any], Depends(_patch_body)], deps: DepsDep
) -> list[Change]:
    draft, body = patch
    return image_attributes.parse_patch(body, draft, deps.formats)


def _member_id(body: JsonBody) -> str:
    return image_members.parse_member_id(body)


def _member_status(body: JsonBody) -> str:
    return image_members.parse_status(body)


def _import_request(body: JsonBody, deps: DepsDep) -> ImportRequest:
    return image_import.parse_import(deps, body)


async def _optional_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON in request body.") from None


def _namespace(body: JsonBody) -> NamespaceSpec:
    return metadef_namespaces.parse(body)


def _object(body: JsonBody) -> ObjectSpec:
    return metadef_objects.parse(body)


def _property(body: JsonBody) -> PropertySpec:
    return metadef_properties.parse(body)


def _tag_name(body: JsonBody) -> str:
    return metadef_tags.parse(body)


def _tag_names(body: JsonBody) -> list[str]:
    return metadef_tags.parse_many(body)


def _association(body: JsonBody) -> Association:
    return metadef_resource_types.parse(body)


def _task(body: JsonBody) -> tuple[str, dict[str, Any]]:
    return legacy_import.parse_create(body)


#: ``POST /v2/images``
ImageCreateBody = Annotated[CreateRequest, Depends(_create_request)]
#: ``PATCH /v2/images/{image_id}`` (JSON-patch media types)
ImagePatchBody = Annotated[list[Change], Depends(_changes)]
#: ``POST /v2/images/{image_id}/members``
MemberCreateBody = Annotated[str, Depends(_member_id)]
#: ``PUT /v2/images/{image_id}/members/{member_id}``
MemberUpdateBody = Annotated[str, Depends(_member_status)]
#: ``POST /v2/images/{image_id}/import``
ImageImportBody = Annotated[ImportRequest, Depends(_import_request)]
#: ``POST /v2/metadefs/namespaces`` and ``PUT .../namespaces/{ns}``
NamespaceBody = Annotated[NamespaceSpec, Depends(_namespace)]
#: ``POST .../objects`` and ``PUT .../objects/{name}``
ObjectBody = Annotated[ObjectSpec, Depends(_object)]
#: ``POST .../properties`` and ``PUT .../properties/{name}``
PropertyBody = Annotated[PropertySpec, Depends(_property)]
#: ``PUT .../tags/{name}`` (the new name)
TagBody = Annotated[str, Depends(_tag_name)]
#: ``POST .../tags``
TagsBody = Annotated[list[str], Depends(_tag_names)]
#: ``POST .../resource_types``
AssociationBody = Annotated[Association, Depends(_association)]
#: ``POST /v2/tasks``: (type, input)
TaskBody = Annotated[tuple[str, dict[str, Any]], Depends(_task)]
#: a JSON body that may be absent (``POST .../locations`` reads its own)
OptionalJson = Annotated[Any, Depends(_optional_json)]
