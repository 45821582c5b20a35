"""What the proxy knows of containers and accounts, shared correctly between its
processes (``[object_store] proxy_workers``).

Swift keeps this info in memcache, and the proxy that changes a container deletes its
entry there. Here each process keeps its own entries (a dict lookup, no round trip),
each stamped with a *generation* read from a small file that every proxy process of
this host maps (``<state_dir>/object_store/info_generations``: 8,192 slots of 8 bytes,
a key's slot chosen by CRC-32). A change through any process writes a new random value
into the key's slot once the change is on the storage servers; a process trusts its
entry only while the slot still holds the generation read *before* the entry was
fetched, so an entry fetched concurrently with a change is never trusted past it.
Slots shared by several keys only cost extra fetches. Entries also expire after
``ttl`` seconds (Swift's ``recheck_*_existence``), for changes not made through a
proxy of this host (replication, another proxy host)."""

from __future__ import annotations

import mmap
import os
import random
import struct
import zlib
from pathlib import Path

from tinystack.common.timeutils import TTLCache
from tinystack.object_store.services.records import Reply

SLOTS = 8192
#: the file's name in ``<state_dir>/object_store``
GENERATIONS = "info_generations"
_SLOT = struct.Struct("<Q")


def _slot(key: tuple[str, ...]) -> int:
    return (zlib.crc32("\x00".join(key).encode("utf-8", "surrogateescape")) % SLOTS) * 8


class InfoCache:
    """(account, container) -> the container's HEAD; (account,) -> the account exists;
    (account, "\\x00quotas") -> the account's quotas."""

    def __init__(self, path: Path, ttl: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < SLOTS * 8:
                os.ftruncate(fd, SLOTS * 8)
            self._map = mmap.mmap(fd, SLOTS * 8)
        finally:
            os.close(fd)
        self._entries: TTLCache[tuple[int, Reply]] = TTLCache(ttl)

    def stamp(self, key: tuple[str, ...]) -> int:
        """The key's generation now: read it before fetching what :meth:`put` stores."""
        value: int = _SLOT.unpack_from(self._map, _slot(key))[0]
        return value

    def get(self, key: tuple[str, ...]) -> Reply | None:
        found = self._entries.get(key)
        if found is None or found[0] != self.stamp(key):
            return None
        return found[1]

    def put(self, key: tuple[str, ...], stamp: int, value: Reply) -> None:
        self._entries.put(key, (stamp, value))

    def pop(self, key: tuple[str, ...]) -> None:
        """Forget the key here and in every other proxy process: call it once the
        change is on the storage servers (and, for this process's own reads in the
        meantime, before)."""
        self._entries.pop(key)
        _SLOT.pack_into(self._map, _slot(key), random.getrandbits(64))
