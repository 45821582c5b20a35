"""ISO 8601 parsing in the one time helper."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tinystack.common.timeutils import isotime_plain, parse_isotime

MIDNIGHT = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-01T00:00:00Z",
        "2026-01-01T00:00:00.000000Z",
        "2026-01-01T01:00:00+01:00",
        "2026-01-01T00:00:00",
    ],
)
def test_parse_isotime_is_aware_utc(text: str) -> None:
    parsed = parse_isotime(text)
    assert parsed == MIDNIGHT and parsed.tzinfo is UTC
    assert parsed.timestamp() == MIDNIGHT.timestamp()


def test_parse_isotime_refuses_garbage() -> None:
    with pytest.raises(ValueError):
        parse_isotime("yesterday")


def test_isotime_plain_has_no_zone_and_microseconds_only_when_set() -> None:
    assert isotime_plain(datetime(2026, 1, 1, 12, 0, 0)) == "2026-01-01T12:00:00"
    assert isotime_plain(datetime(2026, 1, 1, 12, 0, 0, 5)) == "2026-01-01T12:00:00.000005"
    assert isotime_plain(datetime(2026, 1, 1, 13, tzinfo=UTC)) == "2026-01-01T13:00:00"
