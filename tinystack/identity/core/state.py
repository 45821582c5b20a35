"""The identity service's shared state, built once per app."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from oslo_config import cfg

from tinystack.common.auth.revocation import RevocationList
from tinystack.common.auth.tokens import TokenCodec
from tinystack.common.db import Database


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def isotime(value: datetime | float | None) -> str | None:
    """Keystone's timestamp format: 2026-01-01T00:00:00.000000Z."""
    if value is None:
        return None
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class TTLCache:
    """A tiny thread-safe cache for rendering data (names, the catalog).

    Identity's own writes clear the affected entries; the TTL bounds staleness
    when several identity processes share one database.
    """

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        item = self._data.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            if len(self._data) > 10000:
                self._data.clear()
            self._data[key] = (time.monotonic() + self.ttl, value)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


@dataclass
class IdentityState:
    conf: cfg.ConfigOpts
    db: Database
    codec: TokenCodec
    revocations: RevocationList
    cache: TTLCache = field(default_factory=TTLCache)

    @property
    def token_ttl(self) -> int:
        return int(self.conf.token.expiration)
