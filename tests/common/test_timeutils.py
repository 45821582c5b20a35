"""ISO 8601 parsing in the one time helper."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tinystack.common.timeutils import parse_isotime

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
