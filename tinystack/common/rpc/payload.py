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

Backports: a field added in a minor version says so (``field(default=None,
metadata=since("1.1"))``); ``to_primitive(versions)`` writes each payload named in
``versions`` (payload name -> version, what the receiver runs) at that version: the
fields added after it are dropped and :meth:`Payload.backport` may rewrite the rest.
A sender capped to an older RPC version (:mod:`tinystack.common.rpc.versions`) so
talks to an older receiver in the payload versions it knows.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Self, TypeAlias, Union

JSON: TypeAlias = None | bool | int | float | str | list["JSON"] | dict[str, "JSON"]
"""Any JSON value (the wire format of every RPC argument)."""

_NAME = "tinystack.payload"
_VERSION = "tinystack.version"
_DATA = "tinystack.data"


class PayloadError(ValueError):
    """A primitive that does not describe the payload it is read as."""


Versions: TypeAlias = Mapping[str, str]
"""Payload name -> the version to write it at (the receiver's)."""


def since(version: str) -> dict[str, str]:
    """The ``metadata`` of a field added in ``version`` (dropped by older backports)."""
    return {"since": version}


def version_tuple(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


class Payload:
    """Base of the frozen dataclasses that travel over RPC."""

    VERSION: ClassVar[str] = "1.0"

    def to_primitive(self, versions: Versions | None = None) -> dict[str, JSON]:
        """The wire form; with ``versions``, this payload and nested ones backported."""
        cls = type(self)
        data: dict[str, JSON] = {}
        for name in _field_names(cls):
            data[name] = _encode(getattr(self, name), versions)
        version = self.VERSION
        target = versions.get(cls.__name__) if versions else None
        if target is not None and version_tuple(target) < version_tuple(version):
            if _major(target) != _major(version):
                raise PayloadError(f"cannot backport {cls.__name__} {version} to {target}")
            for f in dataclasses.fields(cls):  # type: ignore[arg-type]
                added = f.metadata.get("since")
                if added is not None and version_tuple(added) > version_tuple(target):
                    data.pop(f.name, None)
            self.backport(data, target)
            version = target
        return {_NAME: cls.__name__, _VERSION: version, _DATA: data}

    def backport(self, data: dict[str, JSON], version: str) -> None:
        """Rewrite ``data`` (fields newer than ``version`` already dropped) for a reader
        of ``version``; override when a change is more than an added field."""

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
        kwargs: dict[str, Any] = {}
        for name, decode in _plan(cls):
            if name in data:
                kwargs[name] = decode(data[name])
        return cls(**kwargs)


def _major(version: str) -> str:
    return version.split(".", 1)[0]


Decoder = Callable[[JSON], Any]

#: per payload class: its field names, and (field name, decoder) pairs built once from
#: the type hints, so decoding walks no type hints at run time
_NAMES: dict[type, tuple[str, ...]] = {}
_PLANS: dict[type, tuple[tuple[str, Decoder], ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _NAMES.get(cls)
    if names is None:
        names = _NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _plan(cls: type) -> tuple[tuple[str, Decoder], ...]:
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        plan = _PLANS[cls] = tuple((n, _decoder(hints[n])) for n in _field_names(cls))
    return plan


def payload_versions(classes: Mapping[str, object]) -> dict[str, str]:
    """Name -> VERSION of the payload classes among ``classes`` (a module's ``vars()``):
    the object versions a service reports it runs."""
    return {
        name: value.VERSION
        for name, value in sorted(classes.items())
        if isinstance(value, type) and issubclass(value, Payload) and value is not Payload
    }


def _encode(value: object, versions: Versions | None = None) -> JSON:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Payload):
        return value.to_primitive(versions)
    if isinstance(value, list | tuple):
        return [_encode(v, versions) for v in value]
    if isinstance(value, dict):
        return {str(k): _encode(v, versions) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    raise PayloadError(f"cannot put a {type(value).__name__} on the wire")


def _identity(value: JSON) -> JSON:
    return value


def _decode_time(value: JSON) -> datetime:
    if not isinstance(value, str):
        raise PayloadError(f"expected an ISO 8601 time, got {value!r:.80}")
    return datetime.fromisoformat(value)


def _decoder(hint: Any) -> Decoder:
    """A function that rebuilds a value of type ``hint`` from its JSON form."""
    if hint is Any or hint is JSON or hint is object:
        return _identity
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return _union_decoder(typing.get_args(hint))
    if isinstance(hint, type) and issubclass(hint, Payload):
        return hint.from_primitive
    if hint is datetime:
        return _decode_time
    if origin in (list, tuple, dict):
        return _container_decoder(origin, typing.get_args(hint))
    return _identity


def _union_decoder(args: tuple[Any, ...]) -> Decoder:
    rest = [a for a in args if a is not type(None)]
    if len(rest) != 1:
        return _identity
    inner = _decoder(rest[0])
    if inner is _identity:
        return _identity

    def decode(value: JSON) -> Any:
        return None if value is None else inner(value)

    return decode


def _container_decoder(origin: Any, args: tuple[Any, ...]) -> Decoder:
    if origin is dict:
        item = _decoder(args[1]) if len(args) == 2 else _identity
        if item is _identity:
            return _identity
        return lambda value: (
            {k: item(v) for k, v in value.items()} if isinstance(value, dict) else value
        )
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis) and args:
        items = [_decoder(a) for a in args]
        return lambda value: (
            tuple(d(v) for d, v in zip(items, value, strict=True))
            if isinstance(value, list)
            else value
        )
    item = _decoder(args[0]) if args else _identity
    if origin is list:
        if item is _identity:
            return lambda value: list(value) if isinstance(value, list) else value
        return lambda value: [item(v) for v in value] if isinstance(value, list) else value
    if item is _identity:
        return lambda value: tuple(value) if isinstance(value, list) else value
    return lambda value: tuple(item(v) for v in value) if isinstance(value, list) else value
