"""The account and container replicators: every database on a local device is merged
into the other primaries of its partition (its rows, deleted ones included, merged there
by timestamp; a replica that lost its file gets it back); a database on a handoff device
is removed once every primary took it. A database is pushed again to a node only after
it changed since the last successful push there, or when that node lost it."""

from __future__ import annotations

import http.client
import json
import logging
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

from tinystack.object_store.ring.ring import Node, Ring
from tinystack.object_store.storage.broker import Broker
from tinystack.object_store.storage.daemon import run_every

LOG = logging.getLogger(__name__)
TIMEOUT = 10.0


def exists(node: Node, part: int, names: tuple[str, ...]) -> bool:
    """Whether ``node`` holds the database (deleted or not); unreachable counts as yes."""
    path = "/" + "/".join([node.device, str(part), *names])
    conn = http.client.HTTPConnection(node.ip, node.port, timeout=TIMEOUT)
    try:
        conn.request("HEAD", quote(path), headers={"X-Backend-Replication": "exists"})
        response = conn.getresponse()
        response.read()
        return response.status != 404
    except OSError:
        return True
    finally:
        conn.close()


def push(node: Node, part: int, names: tuple[str, ...], doc: dict[str, object]) -> bool:
    body = json.dumps(doc).encode()
    path = "/" + "/".join([node.device, str(part), *names])
    conn = http.client.HTTPConnection(node.ip, node.port, timeout=TIMEOUT)
    try:
        conn.request("PUT", quote(path), body=body, headers={
            "X-Backend-Replication": "merge", "Content-Type": "application/json"})  # fmt: skip
        response = conn.getresponse()
        response.read()
        return 200 <= response.status < 300
    except OSError:
        return False
    finally:
        conn.close()


class DbReplicator:
    def __init__(self, kind: str, devices: Path, ring: Ring, local: set[tuple[str, str]],
                 interval: float = 30.0) -> None:  # fmt: skip
        self.kind = kind
        self.devices = devices
        self.ring = ring
        #: (ip, device) of this node's devices
        self.local = local
        self.interval = interval
        self.pushed: dict[tuple[str, int], float] = {}
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
        broker = Broker(db, self.kind)
        try:
            mtime = db.stat().st_mtime
            doc = broker.export()
        except (OSError, sqlite3.Error):  # a database being written or removed: next pass
            return 0
        info = doc["info"]
        assert isinstance(info, dict)
        names = (str(info["account"]),) + (
            (str(info["container"]),) if self.kind == "container" else ()
        )
        primaries = self.ring.primaries(part)
        done, complete = 0, True
        for node in primaries:
            if node.id == me.id:
                continue
            unchanged = self.pushed.get((str(db), node.id), -1.0) >= mtime
            if unchanged and exists(node, part, names):
                continue
            if push(node, part, names, doc):
                self.pushed[(str(db), node.id)] = mtime
                done += 1
            else:
                complete = False
        if me.id not in {n.id for n in primaries} and complete:
            for suffix in ("", "-wal", "-shm"):
                Path(str(db) + suffix).unlink(missing_ok=True)
            LOG.info("handoff %s database %s reverted to its primaries", self.kind, db.name)
        return done

    def start(self) -> None:
        run_every(
            self.interval, self.stopping, self.replicate,
            f"object-store-{self.kind}-replicator", f"{self.kind} replication pass failed",
        )  # fmt: skip

    def stop(self) -> None:
        self.stopping.set()
