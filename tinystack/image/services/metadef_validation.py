"""The metadef request bodies checked as upstream's JSON schemas describe them.

``/v2/schemas/metadefs/*`` (``api/metadef_schemas.py``) publish the schemas;
this module applies the same rules by hand (names at most 80 characters, a
property definition needs ``title`` and ``type``, types from a fixed list, ...),
answering 400 ``Provided object does not match schema '<name>': <reason>`` or 403
for a read-only attribute, as upstream.
"""

from __future__ import annotations

from collections.abc import Mapping

from tinystack.common.exceptions import BadRequest, Forbidden
from tinystack.common.rpc.payload import JSON

PROPERTY_TYPES = ("array", "boolean", "integer", "number", "object", "string", None)
NAMESPACE_READONLY = ("self", "schema", "created_at", "updated_at")
CHILD_READONLY = ("schema", "created_at", "updated_at", "self")
_STRINGS = ("title", "description", "pattern")
_INTS = ("maxLength", "minLength", "maxItems", "minItems")
_BOOLS = ("readonly", "uniqueItems", "additionalItems")
_NUMBERS = ("minimum", "maximum")
PROPERTY_KEYS = frozenset(
    ("name", "type", "enum", "operators", "default", "required", "items", "confidential")
    + _STRINGS
    + _INTS
    + _BOOLS
    + _NUMBERS
)


def bad(schema: str, reason: str) -> BadRequest:
    return BadRequest(f"Provided object does not match schema '{schema}': {reason}")


def body_object(body: object, readonly: tuple[str, ...]) -> Mapping[str, object]:
    if not isinstance(body, dict):
        raise BadRequest("Body expected in request.")
    for key in readonly:
        if key in body:
            raise Forbidden(f"Attribute '{key}' is read-only.")
    return body


def string(schema: str, body: Mapping[str, object], key: str, max_length: int | None) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad(schema, f"{value!r} is not of type 'string'")
    if max_length is not None and len(value) > max_length:
        raise bad(schema, f"{value!r} is too long")
    return value


def required_name(schema: str, body: Mapping[str, object], key: str = "name") -> str:
    if key not in body:
        raise bad(schema, f"'{key}' is a required property")
    value = string(schema, body, key, 80)
    if not value:
        raise bad(schema, f"'{key}' must not be empty")
    return value


def string_array(schema: str, value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad(schema, f"{value!r} is not an array of strings")
    if len(set(value)) != len(value):
        raise bad(schema, f"{value!r} has non-unique elements")
    return list(value)


def property_definition(schema: str, name: str, body: object) -> dict[str, JSON]:
    """A checked property definition (without its name)."""
    if not isinstance(body, dict):
        raise bad(schema, f"property {name}: {body!r} is not of type 'object'")
    for key in ("title", "type"):
        if key not in body:
            raise bad(schema, f"'{key}' is a required property")
    if body["type"] not in PROPERTY_TYPES:
        raise bad(schema, f"{body['type']!r} is not one of {list(PROPERTY_TYPES)}")
    for key, value in body.items():
        if key in _STRINGS and not isinstance(value, str):
            raise bad(schema, f"{key}: {value!r} is not of type 'string'")
        if key in _INTS and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise bad(schema, f"{key}: {value!r} is not a positive integer")
        if key in _BOOLS and not isinstance(value, bool):
            raise bad(schema, f"{key}: {value!r} is not of type 'boolean'")
        if key in _NUMBERS and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise bad(schema, f"{key}: {value!r} is not of type 'number'")
        if key == "enum" and not isinstance(value, list):
            raise bad(schema, f"enum: {value!r} is not of type 'array'")
        if key == "operators":
            string_array(schema, value)
        if key == "required":
            string_array(schema, value)
        if key == "items":
            _items(schema, value)
    if len(name) > 80:
        raise bad(schema, f"{name!r} is too long")
    return {k: v for k, v in body.items() if k != "name" and k in PROPERTY_KEYS}


def _items(schema: str, value: object) -> None:
    if not isinstance(value, dict):
        raise bad(schema, f"items: {value!r} is not of type 'object'")
    if "type" in value and value["type"] not in PROPERTY_TYPES:
        raise bad(schema, f"items: {value['type']!r} is not one of {list(PROPERTY_TYPES)}")
    if "enum" in value and not isinstance(value["enum"], list):
        raise bad(schema, f"items: enum {value['enum']!r} is not of type 'array'")


def property_map(schema: str, value: object) -> dict[str, JSON]:
    """``{name: definition}`` (the ``properties`` of a namespace or object)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise bad(schema, f"properties: {value!r} is not of type 'object'")
    return {str(k): property_definition(schema, str(k), v) for k, v in value.items()}
