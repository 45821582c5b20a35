"""The object replicator, as Swift's design describes it: for each partition on a local
device, ask the partition's other primaries for their suffix hashes (Swift's ``REPLICATE``;
here ``GET /<device>/<partition>``) and
push every object of a suffix that differs, the way ssync does (a PUT of the ``.data``
with its original timestamp and metadata, a DELETE for a ``.ts``, a POST for a
``.meta``; a replica holding the same or newer state answers 409 and keeps it). A
partition on a device that is not one of its primaries (a handoff) is pushed to every
primary and then removed (handoff revert). Each pass also removes tombstones older than
a week and files interrupted writes left in tmp/.

A primary partition whose suffix hashes are the same as when every other primary last
matched them is compared again only after ``RECHECK_PASSES`` intervals: asking every
peer about every partition on every pass was most of a busy node's work (and is what a
pass costs when nothing changed); a peer that lost its copy is still found by then."""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tinystack.object_store.ring.ring import Node, Ring
from tinystack.object_store.storage import diskfile
from tinystack.object_store.storage.daemon import run_every
from tinystack.object_store.storage.updates import POOL

LOG = logging.getLogger(__name__)
TIMEOUT = 10.0
#: a file left in a device's tmp/ this long is an interrupted write (a crash): removed
TMP_AGE = 3600.0
#: tombstones older than this are removed (Swift's reclaim_age, a week)
RECLAIM_AGE = 7 * 24 * 3600.0
#: partitions replicated at once
CONCURRENCY = 4
#: intervals after which an unchanged partition in sync is compared (and reclaimed) again
RECHECK_PASSES = 10
#: metadata a pushed .data carries as headers (the rest is recomputed by the receiver)
SKIP = {diskfile.NAME, "X-Timestamp", "Content-Length"}


@dataclass
class Stats:
    partitions: int = 0
    pushed: int = 0
    reverted: int = 0
    failures: int = 0


def _request(
    node: Node, method: str, path: str, headers: dict[str, str], body: Path | None = None
) -> int:
    status, _ = POOL.request(
        node.ip, node.port, method, urllib.parse.quote(path), headers, TIMEOUT, body
    )
    return status


def clean_tmp(dev: Path, now: float) -> None:
    """Remove what interrupted writes left in the device's tmp/."""
    try:
        entries = list((dev / "tmp").iterdir())
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            if now - entry.stat().st_mtime > TMP_AGE:
                entry.unlink()
        except OSError:
            continue


def reclaim(part_dir: Path, now: float) -> None:
    """Remove tombstones older than RECLAIM_AGE (every replica has had a week to learn
    of the delete) and the hash directories they leave empty."""
    for ts in part_dir.glob("*/*/*.ts"):
        try:
            if now - float(ts.name[:-3]) > RECLAIM_AGE:
                ts.unlink()
                ts.parent.rmdir()
                diskfile.invalidate_suffix(part_dir.parents[1], int(part_dir.name),
                                           ts.parent.parent.name)  # fmt: skip
        except (OSError, ValueError):
            continue


def remote_hashes(node: Node, part: int) -> dict[str, str] | None:
    status, body = POOL.request(node.ip, node.port, "GET", f"/{node.device}/{part}", {}, TIMEOUT)
    if status != 200:
        return None
    try:
        found: dict[str, str] = json.loads(body)
    except ValueError:
        return None
    return found


def push_file(node: Node, part: int, path: Path) -> bool:
    """Send one .data/.ts/.meta to ``node``; True when it holds that state afterwards."""
    meta = diskfile.read_meta(path)
    name = meta.get(diskfile.NAME, "")
    timestamp = path.name.rsplit(".", 1)[0]
    target = f"/{node.device}/{part}{name}"
    headers = {"X-Timestamp": timestamp}
    if path.suffix == ".data":
        headers.update({k: v for k, v in meta.items() if k not in SKIP})
        status = _request(node, "PUT", target, headers, path)
    elif path.suffix == ".ts":
        status = _request(node, "DELETE", target, headers)
        status = 204 if status == 404 else status  # a tombstone for nothing is still kept
    else:
        headers.update({k: v for k, v in meta.items() if k not in SKIP})
        status = _request(node, "POST", target, headers)
    return 200 <= status < 300 or status == 409


class ObjectReplicator:
    def __init__(self, devices: Path, ring: Ring, local: set[tuple[str, int, str]],
                 interval: float = 30.0) -> None:  # fmt: skip
        self.devices = devices
        self.ring = ring
        #: (ip, port, device) of this node's devices in the ring
        self.local = local
        self.interval = interval
        self.stopping = threading.Event()
        #: (device, partition) -> its suffix hashes when every peer last matched, and when
        self.in_sync: dict[tuple[str, int], tuple[dict[str, str], float]] = {}

    def _local_node(self, device: str) -> Node | None:
        self.ring.maybe_reload()
        for node in self.ring.devs:
            if node is not None and (node.ip, node.port, node.device) in self.local and \
                    node.device == device:  # fmt: skip
                return node
        return None

    def replicate(self) -> Stats:
        """One pass over every partition of this node's devices, ``CONCURRENCY`` at a
        time (each partition is mostly waiting for other nodes)."""
        try:
            devs = sorted(d for d in self.devices.iterdir() if (d / "objects").is_dir())
        except FileNotFoundError:
            return Stats()
        jobs: list[tuple[Path, Node, int]] = []
        for dev in devs:
            clean_tmp(dev, time.time())
            me = self._local_node(dev.name)
            if me is None:
                continue
            try:
                parts = sorted((dev / "objects").iterdir())
            except FileNotFoundError:
                continue
            jobs += [(dev, me, int(p.name)) for p in parts if p.name.isdigit()]
        stats = Stats(partitions=len(jobs))
        with ThreadPoolExecutor(CONCURRENCY, thread_name_prefix="object-replication") as pool:
            for found in pool.map(lambda job: self._partition(*job), jobs):
                stats.pushed += found.pushed
                stats.reverted += found.reverted
                stats.failures += found.failures
        return stats

    def _partition(self, dev: Path, me: Node, part: int) -> Stats:
        stats = Stats()
        self.partition(dev, me, part, stats)
        return stats

    def partition(self, dev: Path, me: Node, part: int, stats: Stats) -> None:
        now = time.time()
        primaries = self.ring.primaries(part)
        handoff = me.id not in {n.id for n in primaries}
        key = (dev.name, part)
        known = self.in_sync.pop(key, None)
        if not handoff and known is not None and now - known[1] < RECHECK_PASSES * self.interval:
            if known[0] == diskfile.suffix_hashes(dev, part):
                self.in_sync[key] = known
                return
        reclaim(dev / "objects" / str(part), now)
        local = diskfile.suffix_hashes(dev, part)
        complete = True
        for node in primaries:
            if node.id == me.id:
                continue
            theirs = remote_hashes(node, part)
            if theirs is None:
                complete = False
                continue
            for suffix, digest in local.items():
                if theirs.get(suffix) == digest:
                    continue
                ok = self.push_suffix(dev / "objects" / str(part) / suffix, node, part, stats)
                complete = complete and ok
        if complete and not handoff:
            self.in_sync[key] = (local, now)
        if handoff and complete:
            shutil.rmtree(dev / "objects" / str(part), ignore_errors=True)
            stats.reverted += 1
            LOG.info("handoff partition %s on %s reverted to its primaries", part, dev.name)

    def push_suffix(self, suffix_dir: Path, node: Node, part: int, stats: Stats) -> bool:
        ok = True
        for hash_dir in sorted(suffix_dir.iterdir()) if suffix_dir.is_dir() else []:
            for name in sorted(os.listdir(hash_dir)):
                if not name.endswith((".data", ".ts", ".meta")):
                    continue
                if push_file(node, part, hash_dir / name):
                    stats.pushed += 1
                else:
                    stats.failures += 1
                    ok = False
        return ok

    def start(self) -> None:
        run_every(
            self.interval, self.stopping, self.replicate, "object-store-replicator",
            "object replication pass failed",
        )  # fmt: skip

    def stop(self) -> None:
        self.stopping.set()
