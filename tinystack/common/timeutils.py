"""Clock, timestamp formats and identifiers: the one copy every service uses.

Databases store naive UTC datetimes; each API family renders them in the format its
upstream uses, named here so that a service never writes its own ``strftime``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Hashable
from datetime import UTC, datetime
from typing import Generic, TypeVar

V = TypeVar("V")


def utcnow(*, whole_seconds: bool = False) -> datetime:
    """Naive UTC now: what the DateTime columns store on every backend."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=0) if whole_seconds else now


def naive_utc(value: datetime) -> datetime:
    """``value`` as naive UTC (aware values are converted, naive ones taken as UTC)."""
    if value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def isotime(value: datetime) -> str:
    """``2024-05-01T12:00:00Z``: Nova, Neutron and Glance's created/updated format."""
    return f"{naive_utc(value):%Y-%m-%dT%H:%M:%S}Z"


def isotime_micro(value: datetime) -> str:
    """``2024-05-01T12:00:00.000000Z``: Keystone's format."""
    return f"{naive_utc(value):%Y-%m-%dT%H:%M:%S.%f}Z"


def isotime_plain(value: datetime) -> str:
    """``2024-05-01T12:00:00`` or ``...:00.123456`` (no zone; microseconds when non-zero).

    Keystone's application-credential ``expires_at``; compute's ``plain_time`` renders the same.
    """
    return naive_utc(value).isoformat()


def parse_isotime(text: str) -> datetime:
    """An ISO 8601 time (``...Z``, ``...+02:00`` or naive, taken as UTC) as aware UTC.

    ValueError when ``text`` is not one.
    """
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def from_timestamp(value: float) -> datetime:
    """A POSIX timestamp as naive UTC."""
    return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)


def new_uuid() -> str:
    """A random UUID in its dashed form (Nova, Neutron, Glance, Placement ids)."""
    return str(uuid.uuid4())


def new_hex_id() -> str:
    """A random UUID as 32 hex digits (Keystone ids)."""
    return uuid.uuid4().hex


class TTLCache(Generic[V]):
    """A small thread-safe cache whose entries expire ``ttl`` seconds after they are put.

    When it holds ``max_entries`` it is emptied rather than evicting one by one: the
    callers cache cheap-to-recompute renderings, so a rare full miss costs little.
    """

    def __init__(self, ttl: float, max_entries: int = 4096) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._data: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._data.get(key)
            if found is None:
                return None
            if found[0] < time.monotonic():
                del self._data[key]
                return None
            return found[1]

    def put(self, key: Hashable, value: V) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._data) >= self.max_entries:
                self._data.clear()
            self._data[key] = (time.monotonic() + self.ttl, value)

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
