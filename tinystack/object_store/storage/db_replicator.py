"""The account and container replicators: every database on a local device is merged
into the other primaries of its partition (its rows, deleted ones included, merged there
by timestamp; a replica that lost its file gets it back); a database on a handoff device
is removed once every primary took it. A database is pushed again to a node only after
it changed (its file or its write-ahead log) since the last successful push there, or
when that node lost it; an unchanged database is not even read."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import quote

from tinystack.object_store.ring.ring import Node, Ring
from tinystack.object_store.storage.broker import Broker
from tinystack.object_store.storage.daemon import run_every
from tinystack.object_store.storage.updates import POOL

LOG = logging.getLogger(__name__)
TIMEOUT = 10.0


def exists(node: Node, part: int, names: tuple[str, ...]) -> bool:
    """Whether ``node`` holds the database (deleted or not); unreachable counts as yes."""
    path = quote("/" + "/".join([node.device, str(part), *names]))
    headers = {"X-Backend-Replication": "exists"}
    status, _ = POOL.request(node.ip, node.port, "HEAD", path, headers, TIMEOUT)
    return status != 404


def push(node: Node, part: int, names: tuple[str, ...], doc: dict[str, object]) -> bool:
    path = quote("/" + "/".join([node.device, str(part), *names]))
    headers = {"X-Backend-Replication": "merge", "Content-Type": "application/json"}
    body = json.dumps(doc).encode()
    status, _ = POOL.request(node.ip, node.port, "PUT", path, headers, TIMEOUT, body)
    return 200 <= status < 300


def changed_at(db: Path) -> float:
    """When the database last changed: its file's or its write-ahead log's mtime."""
    stamps = [db.stat().st_mtime]
    try:
        stamps.append(Path(f"{db}-wal").stat().st_mtime)
    except FileNotFoundError:
        pass
    return max(stamps)


class DbReplicator:
    def __init__(self, kind: str, devices: Path, ring: Ring, local: set[tuple[str, str]],
                 interval: float = 30.0) -> None:  # fmt: skip
        self.kind = kind
        self.devices = devices
        self.ring = ring
        #: (ip, device) of this node's devices
        self.local = local
        self.interval = interval
        #: (database, node id) -> when the database had changed last when it was pushed there
        self.pushed: dict[tuple[str, int], float] = {}
        #: database -> its (account[, container]) names
        self.names: dict[Path, tuple[str, ...]] = {}
        self.stopping = threading.Event()

    def _me(self, device: str) -> Node | None:
        self.ring.maybe_reload()
        for node in self.ring.devs:
            if node is not None and (node.ip, node.device) in self.local and node.device == device:
                return node
        return None

    def replicate(self) -> int:
        """One pass; returns how many pushes succeeded."""
        done = 0
        try:
            devs = sorted(d for d in self.devices.iterdir() if (d / f"{self.kind}s").is_dir())
        except FileNotFoundError:
            return 0
        for dev in devs:
            me = self._me(dev.name)
            if me is not None:
                for db in sorted((dev / f"{self.kind}s").glob("*/*/*/*.db")):
                    done += self.one(db, me, int(db.parts[-4]))
        return done

    def one(self, db: Path, me: Node, part: int) -> int:
        try:
            mtime = changed_at(db)
        except OSError:  # removed meanwhile
            return 0
        primaries = self.ring.primaries(part)
        peers = [n for n in primaries if n.id != me.id]
        known = self.names.get(db)
        if known is not None and all(
            self.pushed.get((str(db), n.id), -1.0) >= mtime and exists(n, part, known)
            for n in peers
        ):
            return 0  # unchanged since every peer took it, and every peer still has it
        broker = Broker(db, self.kind)
        try:
            doc = broker.export()
        except (OSError, sqlite3.Error):  # a database being written or removed: next pass
            return 0
        info = doc["info"]
        assert isinstance(info, dict)
        names = (str(info["account"]),) + (
            (str(info["container"]),) if self.kind == "container" else ()
        )
        self.names[db] = names
        # a change within the file system's timestamp granularity of the export could
        # carry the same mtime: a database changed this last second is pushed again
        stamp = mtime if time.time() - mtime > 1.0 else -1.0
        done, complete = 0, True
        for node in peers:
            unchanged = self.pushed.get((str(db), node.id), -1.0) >= mtime
            if unchanged and exists(node, part, names):
                continue
            if push(node, part, names, doc):
                self.pushed[(str(db), node.id)] = stamp
                done += 1
            else:
                complete = False
        if me.id not in {n.id for n in primaries} and complete:
            for suffix in ("", "-wal", "-shm"):
                Path(str(db) + suffix).unlink(missing_ok=True)
            self.names.pop(db, None)
            LOG.info("handoff %s database %s reverted to its primaries", self.kind, db.name)
        return done

    def start(self) -> None:
        run_every(
            self.interval, self.stopping, self.replicate,
            f"object-store-{self.kind}-replicator", f"{self.kind} replication pass failed",
        )  # fmt: skip

    def stop(self) -> None:
        self.stopping.set()
