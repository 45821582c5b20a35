"""``/v2/schemas/metadefs/*`` and ``/v2/schemas/task(s)``: the JSON schemas clients read.

The rules they state are those ``services/metadef_validation.py`` applies.
Handlers only; routes are in :mod:`tinystack.image.api.router`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.auth.context import RequestContext
from tinystack.image.services.metadef_validation import PROPERTY_TYPES

_READONLY_TIME = {"type": "string", "readOnly": True, "format": "date-time"}
_LINK = {"type": "string", "readOnly": True}
_DEFINITIONS: dict[str, Any] = {
    "positiveInteger": {"type": "integer", "minimum": 0},
    "positiveIntegerDefault0": {
        "allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]
    },
    "stringArray": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
}
_PROPERTY_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 80},
    "title": {"type": "string"},
    "description": {"type": "string"},
    "operators": {"type": "array", "items": {"type": "string"}},
    "type": {"type": "string", "enum": list(PROPERTY_TYPES)},
    "required": {"$ref": "#/definitions/stringArray"},
    "minimum": {"type": "number"},
    "maximum": {"type": "number"},
    "maxLength": {"$ref": "#/definitions/positiveInteger"},
    "minLength": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "pattern": {"type": "string", "format": "regex"},
    "enum": {"type": "array"},
    "readonly": {"type": "boolean"},
    "default": {},
    "items": {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": list(PROPERTY_TYPES)},
            "enum": {"type": "array"},
        },
    },
    "maxItems": {"$ref": "#/definitions/positiveInteger"},
    "minItems": {"$ref": "#/definitions/positiveIntegerDefault0"},
    "uniqueItems": {"type": "boolean", "default": False},
    "additionalItems": {"type": "boolean"},
}
_PROPERTY_MAP = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "required": ["title", "type"],
        "properties": _PROPERTY_FIELDS,
    },
}
_ASSOCIATION_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 80, "description": "Resource type name."},
    "prefix": {"type": "string", "maxLength": 80, "description": "Prefix of property names."},
    "properties_target": {
        "type": "string",
        "maxLength": 80,
        "description": "Which part of the resource the properties apply to.",
    },
    "created_at": _READONLY_TIME,
    "updated_at": _READONLY_TIME,
}
_OBJECT_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 80},
    "description": {"type": "string"},
    "required": {"$ref": "#/definitions/stringArray"},
    "properties": {"$ref": "#/definitions/property"},
    "schema": _LINK,
    "self": _LINK,
    "created_at": _READONLY_TIME,
    "updated_at": _READONLY_TIME,
}
_TAG_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 80},
    "created_at": _READONLY_TIME,
    "updated_at": _READONLY_TIME,
}


def _schema(name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "name": name,
        "properties": copy.deepcopy(properties),
        "additionalProperties": False,
        "definitions": {**_DEFINITIONS, "property": _PROPERTY_MAP},
    }
    if required:
        schema["required"] = required
    return schema


def _collection(name: str, item: dict[str, Any], paged: bool = True) -> dict[str, Any]:
    properties: dict[str, Any] = {name: {"type": "array", "items": item}}
    links = [{"rel": "describedby", "href": "{schema}"}]
    if paged:
        properties.update(first={"type": "string"}, next={"type": "string"})
        links = [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"}, *links]
    properties["schema"] = {"type": "string"}
    return {
        "name": name,
        "properties": properties,
        "links": links,
        "definitions": item.get("definitions", {}),
    }


def namespace_schema() -> dict[str, Any]:
    properties = {
        "namespace": {"type": "string", "maxLength": 80, "description": "Unique name."},
        "display_name": {"type": "string", "maxLength": 80, "description": "Name for UIs."},
        "description": {"type": "string", "maxLength": 500, "description": "What it holds."},
        "visibility": {"type": "string", "enum": ["public", "private"]},
        "protected": {"type": "boolean", "description": "When true it cannot be deleted."},
        "owner": {"type": "string", "maxLength": 255, "description": "Owning project."},
        "created_at": _READONLY_TIME,
        "updated_at": _READONLY_TIME,
        "schema": _LINK,
        "self": _LINK,
        "resource_type_associations": {
            "type": "array",
            "items": {"type": "object", "properties": _ASSOCIATION_FIELDS},
        },
        "properties": {"$ref": "#/definitions/property"},
        "objects": {"type": "array", "items": {"type": "object", "properties": _OBJECT_FIELDS}},
        "tags": {
            "type": "array",
            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
    }
    return _schema("namespace", properties, ["namespace"])


def object_schema() -> dict[str, Any]:
    return _schema("object", _OBJECT_FIELDS, ["name"])


def property_schema() -> dict[str, Any]:
    return _schema("property", _PROPERTY_FIELDS, ["name", "title", "type"])


def tag_schema() -> dict[str, Any]:
    return _schema("tag", _TAG_FIELDS, ["name"])


def association_schema() -> dict[str, Any]:
    return _schema("resource_type_association", _ASSOCIATION_FIELDS, ["name"])


def properties_schema() -> dict[str, Any]:
    item = property_schema()
    item["required"] = ["title", "type"]
    return {
        "name": "properties",
        "properties": {
            "properties": {"type": "object", "additionalProperties": item},
            "schema": {"type": "string"},
        },
        "links": [{"rel": "describedby", "href": "{schema}"}],
        "definitions": item["definitions"],
    }


SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {
    "namespace": namespace_schema,
    "namespaces": lambda: _collection("namespaces", namespace_schema()),
    "object": object_schema,
    "objects": lambda: _collection("objects", object_schema()),
    "property": property_schema,
    "properties": properties_schema,
    "tag": tag_schema,
    "tags": lambda: _collection("tags", tag_schema()),
    "resource_type": association_schema,
    "resource_types": lambda: _collection(
        "resource_type_associations", association_schema(), paged=False
    ),
}

_TASK_FIELDS: dict[str, Any] = {
    "id": {"type": "string", "description": "Task identifier (a UUID)."},
    "type": {"type": "string", "enum": ["import", "api_image_import"]},
    "status": {"type": "string", "enum": ["pending", "processing", "success", "failure"]},
    "input": {"type": ["null", "object"], "description": "What the task was asked to do."},
    "result": {"type": ["null", "object"], "description": "What came of it."},
    "owner": {"type": "string", "description": "Owning project."},
    "message": {"type": "string", "description": "Why it failed, if it did."},
    "image_id": {"type": "string", "description": "The image the task works on."},
    "request_id": {"type": "string", "description": "The request that created it."},
    "user_id": {"type": "string", "description": "The user who created it."},
    "expires_at": {"type": ["null", "string"], "description": "When it will be forgotten."},
    "created_at": {"type": "string", "description": "When it was created."},
    "updated_at": {"type": "string", "description": "When it last changed."},
    "self": {"type": "string", "readOnly": True},
    "schema": {"type": "string", "readOnly": True},
}


def task_schema(partial: bool = False) -> dict[str, Any]:
    fields = dict(_TASK_FIELDS)
    if partial:
        for hidden in ("input", "result", "message"):
            fields.pop(hidden)
    return {"name": "task", "properties": fields}


def _handler(kind: str) -> Callable[[RequestContext], Response]:
    build: Callable[[], dict[str, Any]] = SCHEMAS[kind]

    def handler(ctx: ContextDep) -> Response:
        return JSONResponse(build())

    handler.__name__ = f"get_{kind}_schema"
    handler.__doc__ = f"``GET /v2/schemas/metadefs/{kind}``"
    return handler


HANDLERS = {kind: _handler(kind) for kind in SCHEMAS}


def get_task_schema(ctx: ContextDep) -> Response:
    return JSONResponse(task_schema())


def get_tasks_schema(ctx: ContextDep) -> Response:
    return JSONResponse(_collection("tasks", task_schema(partial=True)))
