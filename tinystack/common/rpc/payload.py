"""Typed, versioned RPC payloads: what crosses the bus instead of bare dicts.

A payload is a frozen dataclass deriving from :class:`Payload`. It says how to
serialize itself: :meth:`Payload.to_primitive` wraps its fields (recursively) with
its name and version, and :meth:`Payload.from_primitive` rebuilds it from that,
checking the name and refusing a newer major version::

    @dataclass(frozen=True)
    class HostRef(Payload):
        VERSION: ClassVar[str] = "1.0"
        host: str
        nodename: str

    HostRef.from_primitive(HostRef("h1", "n1").to_primitive()) == HostRef("h1", "n1")

Field types that round-trip: ``str``, ``int``, ``float``, ``bool``, ``None``, ``datetime``
(ISO 8601), other payloads, ``list[T]``, ``tuple[T, ...]``, ``dict[str, T]``, ``T | None``
and :data:`JSON` (any JSON value, passed through). Add a field with a default and bump
the minor version; an old reader ignores fields it does not know.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from datetime import datetime
from typing import Any, ClassVar, Self, TypeAlias, Union

JSON: TypeAlias = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]
"""Any JSON value (the wire format of every RPC argument)."""

_NAME = "tinystack.payload"
_VERSION = "tinystack.version"
_DATA = "tinystack.data"


class PayloadError(ValueError):
    """A primitive that does not describe the payload it is read as."""


class Payload:
    """Base of the frozen dataclasses that travel over RPC."""

    VERSION: ClassVar[str] = "1.0"

    def to_primitive(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            data[f.name] = _encode(getattr(self, f.name))
        return {_NAME: type(self).__name__, _VERSION: self.VERSION, _DATA: data}

    @classmethod
    def from_primitive(cls, primitive: JSON) -> Self:
        if not isinstance(primitive, dict) or primitive.get(_NAME) != cls.__name__:
            raise PayloadError(f"not a {cls.__name__} payload: {primitive!r:.200}")
        version = primitive.get(_VERSION)
        if not isinstance(version, str) or _major(version) != _major(cls.VERSION):
            raise PayloadError(f"{cls.__name__} {version} is not compatible with {cls.VERSION}")
        data = primitive.get(_DATA)
        if not isinstance(data, dict):
            raise PayloadError(f"{cls.__name__} payload without data")
        hints = _hints(cls)
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in data:
                kwargs[f.name] = _decode(hints[f.name], data[f.name])
        return cls(**kwargs)


def _major(version: str) -> str:
    return version.split(".", 1)[0]


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _encode(value: object) -> JSON:
    if isinstance(value, Payload):
        return value.to_primitive()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise PayloadError(f"cannot put a {type(value).__name__} on the wire")


def _decode(hint: Any, value: JSON) -> Any:
    if hint is Any or hint is JSON or hint is object:
        return value
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        rest = [a for a in args if a is not type(None)]
        return _decode(rest[0], value) if len(rest) == 1 else value
    if isinstance(hint, type) and issubclass(hint, Payload):
        return hint.from_primitive(value)
    if hint is datetime:
        if not isinstance(value, str):
            raise PayloadError(f"expected an ISO 8601 time, got {value!r:.80}")
        return datetime.fromisoformat(value)
    if origin is list and isinstance(value, list):
        (item,) = typing.get_args(hint) or (Any,)
        return [_decode(item, v) for v in value]
    if origin is tuple and isinstance(value, list):
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in value)
        return tuple(_decode(a, v) for a, v in zip(args, value, strict=True))
    if origin is dict and isinstance(value, dict):
        args = typing.get_args(hint)
        item = args[1] if len(args) == 2 else Any
        return {k: _decode(item, v) for k, v in value.items()}
    return value
