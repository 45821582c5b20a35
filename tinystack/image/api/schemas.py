"""The request bodies of the image API, as pydantic models for the OpenAPI document.

Glance checks its bodies itself, with its own statuses (403 for a read-only or
reserved attribute) and messages, so the handlers read the raw body
(``api/deps.py``) and check it with ``services/image_attributes.py``; these
models describe the same bodies so that ``/openapi.json`` says what every write
route accepts. Each :class:`RequestBody` is declared on its route in ``router.py``
(``openapi_extra``), media type by media type: image PATCH takes the JSON-patch
media types, uploads take ``application/octet-stream`` and stream it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, RootModel

from tinystack.image.services.image_attributes import PATCH_MEDIA_TYPES, UUID_RE

_INT32 = 2**31 - 1


class ImageCreate(BaseModel):
    """``POST /v2/images``: base attributes; any other key is a string-valued property."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"additionalProperties": {"type": "string"}}
    )

    id: str | None = Field(None, pattern=UUID_RE.pattern)
    name: str | None = Field(None, max_length=255)
    visibility: Literal["community", "public", "private", "shared"] | None = None
    protected: bool | None = None
    os_hidden: bool | None = None
    owner: str | None = Field(None, max_length=255)
    container_format: str | None = None
    disk_format: str | None = None
    min_ram: int | None = Field(None, ge=0, le=_INT32)
    min_disk: int | None = Field(None, ge=0, le=_INT32)
    tags: list[str] | None = None


class PatchOperation(BaseModel):
    """One change of ``application/openstack-images-v2.1-json-patch`` (RFC 6902 subset)."""

    op: Literal["add", "remove", "replace"]
    path: str = Field(description="A JSON pointer to one attribute, such as /name.")
    value: JsonValue = None


class PatchOperationV20(BaseModel):
    """One change of the deprecated ``application/openstack-images-v2.0-json-patch``."""

    add: str | None = None
    remove: str | None = None
    replace: str | None = None
    value: JsonValue = None


class ImagePatch(RootModel[list[PatchOperation]]):
    """``PATCH /v2/images/{image_id}``."""


class ImagePatchV20(RootModel[list[PatchOperationV20]]):
    """``PATCH /v2/images/{image_id}`` with the v2.0 media type."""


class MemberCreate(BaseModel):
    """``POST /v2/images/{image_id}/members``: the project to share the image with."""

    member: str = Field(min_length=1, max_length=255)


class MemberUpdate(BaseModel):
    """``PUT /v2/images/{image_id}/members/{member_id}``: the member's answer."""

    status: Literal["pending", "accepted", "rejected"]


class ImportMethod(BaseModel):
    name: str = Field(description="An enabled import method (see /v2/info/import).")


class ImageImport(BaseModel):
    """``POST /v2/images/{image_id}/import``."""

    method: ImportMethod
    stores: list[str] | None = None
    all_stores: bool | None = None
    all_stores_must_succeed: bool | None = None


class LocationAdd(BaseModel):
    """``POST /v2/images/{image_id}/locations``."""

    url: str
    validation_data: dict[str, str] | None = None


class PropertyDefinition(BaseModel):
    """A metadef property definition (a JSON-schema fragment)."""

    model_config = ConfigDict(extra="allow")

    title: str
    type: Literal["array", "boolean", "integer", "number", "object", "string"] | None
    description: str | None = None


class MetadefProperty(PropertyDefinition):
    """``POST .../properties``: a property definition with its name."""

    name: str = Field(max_length=80)


class MetadefObject(BaseModel):
    """``POST .../objects``."""

    name: str = Field(max_length=80)
    description: str | None = None
    required: list[str] | None = None
    properties: dict[str, PropertyDefinition] | None = None


class MetadefTag(BaseModel):
    """One tag: ``PUT .../tags/{tag_name}`` (the new name) and the items of ``POST .../tags``."""

    name: str = Field(max_length=80)


class MetadefTags(BaseModel):
    """``POST .../tags`` (``X-Openstack-Append: true`` adds instead of replacing)."""

    tags: list[MetadefTag]


class ResourceTypeAssociation(BaseModel):
    """``POST .../resource_types``."""

    name: str = Field(max_length=80)
    prefix: str | None = Field(None, max_length=80)
    properties_target: str | None = Field(None, max_length=80)


class MetadefNamespace(BaseModel):
    """``POST /v2/metadefs/namespaces`` and ``PUT .../namespaces/{namespace}``."""

    namespace: str = Field(max_length=80)
    display_name: str | None = Field(None, max_length=80)
    description: str | None = Field(None, max_length=500)
    visibility: Literal["public", "private"] | None = None
    protected: bool | None = None
    owner: str | None = Field(None, max_length=255)
    resource_type_associations: list[ResourceTypeAssociation] | None = None
    properties: dict[str, PropertyDefinition] | None = None
    objects: list[MetadefObject] | None = None
    tags: list[MetadefTag] | None = None


class TaskCreate(BaseModel):
    """``POST /v2/tasks``: the legacy ``import`` task."""

    type: Literal["import"]
    input: dict[str, JsonValue]


@dataclass(frozen=True)
class RequestBody:
    """A route's request body: a model per media type (None: raw bytes)."""

    content: tuple[tuple[str, type[BaseModel] | None], ...]

    def openapi(self) -> dict[str, Any]:
        """The operation's ``requestBody``, for the route's ``openapi_extra``."""
        content: dict[str, Any] = {}
        for media_type, model in self.content:
            if model is None:
                schema: dict[str, Any] = {"type": "string", "format": "binary"}
            else:
                schema = _inline_refs(model.model_json_schema())
            content[media_type] = {"schema": schema}
        return {"requestBody": {"required": True, "content": content}}


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with its ``$defs`` inlined (OpenAPI resolves refs from the document root)."""
    defs: dict[str, Any] = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def _json(model: type[BaseModel]) -> RequestBody:
    return RequestBody((("application/json", model),))


_PATCH_MODELS: dict[int, type[BaseModel]] = {10: ImagePatch, 4: ImagePatchV20}

IMAGE_CREATE = _json(ImageCreate)
IMAGE_PATCH = RequestBody(tuple((m, _PATCH_MODELS[d]) for m, d in PATCH_MEDIA_TYPES.items()))
IMAGE_DATA = RequestBody((("application/octet-stream", None),))
IMAGE_IMPORT = _json(ImageImport)
MEMBER_CREATE = _json(MemberCreate)
MEMBER_UPDATE = _json(MemberUpdate)
LOCATION_ADD = _json(LocationAdd)
NAMESPACE = _json(MetadefNamespace)
OBJECT = _json(MetadefObject)
PROPERTY = _json(MetadefProperty)
TAG = _json(MetadefTag)
TAGS = _json(MetadefTags)
ASSOCIATION = _json(ResourceTypeAssociation)
TASK_CREATE = _json(TaskCreate)
