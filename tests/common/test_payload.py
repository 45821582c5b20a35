"""RPC payloads round-trip through JSON and refuse what they are not."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

import pytest

from tinystack.common.rpc.payload import JSON, Payload, PayloadError
from tinystack.common.timeutils import TTLCache, isotime, isotime_micro


@dataclass(frozen=True)
class Host(Payload):
    host: str
    weight: int = 0


@dataclass(frozen=True)
class Selection(Payload):
    VERSION: ClassVar[str] = "1.2"
    chosen: Host
    alternates: list[Host]
    tried: tuple[Host, ...] = ()
    at: datetime | None = None
    hints: dict[str, JSON] = field(default_factory=dict)
    previous: Host | None = None


def _wire(payload: Payload) -> JSON:
    result: JSON = json.loads(json.dumps(payload.to_primitive()))
    return result


def test_nested_payload_round_trips_through_json() -> None:
    sent = Selection(
        Host("h1", 3), [Host("h2")], (Host("h0"),), datetime(2024, 5, 1, 12), {"a": [1, None]}
    )
    assert Selection.from_primitive(_wire(sent)) == sent


def test_wrong_payload_name_is_refused() -> None:
    with pytest.raises(PayloadError, match="not a Host payload"):
        Host.from_primitive(_wire(Selection(Host("h"), [])))


def test_newer_major_version_is_refused_and_unknown_fields_ignored() -> None:
    wire = Host("h").to_primitive()
    newer = dict(wire, **{"tinystack.version": "2.0"})
    with pytest.raises(PayloadError, match="not compatible"):
        Host.from_primitive(newer)
    data = dict(wire["tinystack.data"], added_in_1_1="x")  # type: ignore[arg-type]
    assert Host.from_primitive(dict(wire, **{"tinystack.data": data})) == Host("h")


def test_time_formats_and_cache() -> None:
    when = datetime(2024, 5, 1, 12, 0, 0, 123456)
    assert isotime(when) == "2024-05-01T12:00:00Z"
    assert isotime_micro(when) == "2024-05-01T12:00:00.123456Z"
    cache: TTLCache[str] = TTLCache(ttl=60, max_entries=2)
    cache.put("a", "1")
    assert cache.get("a") == "1"
    cache.put("b", "2")
    cache.put("c", "3")  # full: emptied, then c
    assert cache.get("a") is None and cache.get("c") == "3"
