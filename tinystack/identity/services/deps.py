"""``Deps``: everything identity's service layer needs, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tinystack.common.auth.revocation import RevocationList
from tinystack.common.auth.tokens import TokenCodec
from tinystack.common.db import Database
from tinystack.common.timeutils import TTLCache
from tinystack.identity.conf import Options

#: Renderings (names, the catalog) are cached this long; identity's own writes clear the
#: cache, the TTL bounds staleness when several identity processes share one database.
CACHE_TTL = 5.0
CACHE_MAX_ENTRIES = 10000


def _cache() -> TTLCache[Any]:
    return TTLCache(CACHE_TTL, CACHE_MAX_ENTRIES)


@dataclass
class Deps:
    opts: Options
    db: Database
    codec: TokenCodec
    revocations: RevocationList
    cache: TTLCache[Any] = field(default_factory=_cache)
