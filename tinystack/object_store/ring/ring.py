"""The ring as every node uses it: which partition an item hashes to, its primary
nodes, and its handoff nodes. The file is reloaded when it changes on disk."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tinystack.object_store.exception import RingError


@dataclass(frozen=True, slots=True)
class Node:
    """One device of the ring, as a request is routed to it."""

    id: int
    region: int
    zone: int
    ip: str
    port: int
    device: str
    weight: float
    #: the replica this node holds for the partition (handoffs: index past the primaries)
    index: int = 0


def hash_path(prefix: str, suffix: str, account: str, container: str = "", obj: str = "") -> str:
    """Swift's hash of an item's path, salted by the cluster's prefix and suffix."""
    path = "/" + account
    if container:
        path += "/" + container
        if obj:
            path += "/" + obj
    return hashlib.md5((prefix + path + suffix).encode(), usedforsecurity=False).hexdigest()


class Ring:
    """A loaded ring file; cheap to query, reloaded when the file's mtime changes."""

    def __init__(self, path: Path, prefix: str, suffix: str, reload_seconds: float = 1.0) -> None:
        self.path = path
        self.prefix = prefix
        self.suffix = suffix
        self.reload_seconds = reload_seconds
        self._lock = threading.Lock()
        self._mtime = 0.0
        self._checked = 0.0
        self._load()

    def _load(self) -> None:
        try:
            stat = os.stat(self.path)
            data = json.loads(gzip.decompress(self.path.read_bytes()))
        except (OSError, ValueError) as exc:
            raise RingError(f"cannot load ring {self.path}: {exc}") from exc
        self._mtime = stat.st_mtime
        self.part_shift = int(data["part_shift"])
        self.replicas = int(data["replicas"])
        self.version = int(data["version"])
        self.devs = [
            Node(**{k: v for k, v in d.items() if k != "meta"}) if d else None for d in data["devs"]
        ]
        self.assignment: list[list[int]] = data["assignment"]

    def maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.reload_seconds:
            return
        with self._lock:
            self._checked = now
            try:
                mtime = os.stat(self.path).st_mtime
            except OSError:
                return
            if mtime != self._mtime:
                self._load()

    @property
    def partitions(self) -> int:
        return int(2 ** (32 - self.part_shift))

    def part(self, account: str, container: str = "", obj: str = "") -> int:
        digest = bytes.fromhex(hash_path(self.prefix, self.suffix, account, container, obj))
        return int(struct.unpack_from(">I", digest)[0] >> self.part_shift)

    def primaries(self, part: int) -> list[Node]:
        self.maybe_reload()
        nodes = []
        for index, row in enumerate(self.assignment):
            dev = self.devs[row[part]]
            if dev is not None:
                nodes.append(_with_index(dev, index))
        return nodes

    def nodes(self, account: str, container: str = "", obj: str = "") -> tuple[int, list[Node]]:
        part = self.part(account, container, obj)
        return part, self.primaries(part)

    def handoffs(self, part: int) -> Iterator[Node]:
        """The other devices, those in zones the primaries do not use first; the order
        is stable for a partition, so every proxy picks the same handoffs."""
        primaries = self.primaries(part)
        used = {p.id for p in primaries}
        zones = {(p.region, p.zone) for p in primaries}
        rest = [d for d in self.devs if d is not None and d.id not in used and d.weight > 0]

        def key(dev: Node) -> tuple[bool, str]:
            salt = hashlib.md5(f"{part}-{dev.id}".encode(), usedforsecurity=False).hexdigest()
            return ((dev.region, dev.zone) in zones, salt)

        for offset, dev in enumerate(sorted(rest, key=key)):
            yield _with_index(dev, len(primaries) + offset)


def _with_index(dev: Node, index: int) -> Node:
    return Node(dev.id, dev.region, dev.zone, dev.ip, dev.port, dev.device, dev.weight, index)
