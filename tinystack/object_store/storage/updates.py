"""Updates between the storage servers, as Swift sends them: an object server tells the
container server of each object write (``X-Container-*`` headers from the proxy name the
container replica), saving an async pending on its device when that server cannot take
it; container servers report their stats to the account's servers (the account ring),
right away on a container PUT or DELETE and shortly after object changes."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import threading
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tinystack.object_store.ring.ring import Node, Ring
from tinystack.object_store.storage import intents
from tinystack.object_store.storage.daemon import run_every
from tinystack.object_store.storage.diskfile import read_meta
from tinystack.object_store.storage.intents import Intent
from tinystack.object_store.storage.pool import Pool

LOG = logging.getLogger(__name__)
TIMEOUT = 10.0
#: how long an object server waits for the container server before it keeps the update
#: as an async pending (Swift's container_update_timeout), and a container server for the
#: account server before it leaves the report to the reporter: well within the proxy's
#: node_timeout, so a slow server delays a listing, never fails the write it follows
UPDATE_TIMEOUT = 3.0


#: this process's keep-alive connections to other storage servers (the updates of one
#: object server go to a few container servers, over and over)
POOL = Pool()


def send(
    host: str, method: str, path: str, headers: dict[str, str], timeout: float = TIMEOUT
) -> bool:
    """One bodiless backend request; True on a 2xx."""
    name, _, port = host.rpartition(":")
    status, _ = POOL.request(name, int(port), method, urllib.parse.quote(path), headers, timeout)
    return 200 <= status < 300


@dataclass(frozen=True, slots=True)
class ContainerUpdate:
    """What an object server tells a container server after a write."""

    host: str
    device: str
    partition: str
    method: str  # PUT or DELETE
    account: str
    container: str
    obj: str
    headers: dict[str, str]

    def path(self) -> str:
        return f"/{self.device}/{self.partition}/{self.account}/{self.container}/{self.obj}"

    def send(self) -> bool:
        return send(self.host, self.method, self.path(), self.headers, UPDATE_TIMEOUT)


def update_container(dev: Path, update: ContainerUpdate) -> None:
    """Send it; when the container server cannot take it, keep it on disk (async_pending/)
    for the updater."""
    if update.send():
        return
    pending = dev / "async_pending"
    pending.mkdir(exist_ok=True)
    tmp = dev / "tmp" / uuid.uuid4().hex
    tmp.parent.mkdir(exist_ok=True)
    tmp.write_text(json.dumps(_as_dict(update)))
    name = f"{update.headers.get('X-Timestamp', '0')}-{uuid.uuid4().hex}"
    os.replace(tmp, pending / name)
    LOG.warning("container update %s %s saved as async pending", update.method, update.path())


#: an intent younger than this may belong to a write still under way (it is noted after
#: the body arrived, just before the rename; the update after it waits UPDATE_TIMEOUT)
INTENT_GRACE = 10.0


def note_intent(dev: Path, update: ContainerUpdate, written: Path) -> Intent:
    """Note that ``update`` is owed once ``written`` (the ``.data`` or ``.ts`` file) is in
    place (storage/intents.py); ``update.headers`` are the overrides (the file's own
    metadata is added when the updater completes it)."""
    return intents.note_intent(dev, _as_dict(update), written)


def complete_intents(dev: Path, older_than: float = INTENT_GRACE) -> int:
    """Send (or keep as async pendings) the updates of intents a killed write left (or
    older than ``older_than``) whose file is in place; drop those whose write never
    finished. How many were sent."""

    def complete(fields: dict[str, object], written: Path) -> bool:
        update = ContainerUpdate(**fields)  # type: ignore[arg-type]
        try:
            meta = read_meta(written) if written.exists() else None
        except (OSError, ValueError):
            meta = None
        if meta is None:
            return False
        headers = {"X-Timestamp": meta.get("X-Timestamp", written.stem)}
        if update.method == "PUT":
            headers.update({"X-Size": meta.get("Content-Length", "0"), "X-Etag":
                            meta.get("ETag", ""), "X-Content-Type": meta.get(
                            "Content-Type", "application/octet-stream")})  # fmt: skip
        headers.update(update.headers)
        update_container(dev, dataclasses.replace(update, headers=headers))
        return True

    return intents.settle(dev, older_than, complete)


def _as_dict(update: ContainerUpdate) -> dict[str, object]:
    return {f: getattr(update, f) for f in ContainerUpdate.__slots__}


def pending_updates(dev: Path) -> list[Path]:
    try:
        return sorted((dev / "async_pending").iterdir())
    except FileNotFoundError:
        return []


def retry_pending(dev: Path) -> int:
    """Send the async pendings of a device (oldest first); returns how many went."""
    sent = 0
    for path in pending_updates(dev):
        try:
            update = ContainerUpdate(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if update.send():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            sent += 1
    return sent


@dataclass(frozen=True, slots=True)
class ContainerStats:
    account: str
    container: str
    put_timestamp: str
    delete_timestamp: str
    count: int
    bytes_used: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Put-Timestamp": self.put_timestamp,
            "X-Delete-Timestamp": self.delete_timestamp,
            "X-Object-Count": str(self.count),
            "X-Bytes-Used": str(self.bytes_used),
            "X-Timestamp": self.put_timestamp,
        }


class AccountReporter:
    """Sends changed containers' stats to their account's primaries (the account ring),
    coalescing bursts of object writes: a container reports at most every ``interval``."""

    def __init__(
        self, ring: Callable[[], Ring], stats: Callable[[Path], ContainerStats | None],
        interval: float = 0.5,
    ) -> None:  # fmt: skip
        self.ring = ring
        self.stats = stats
        self.interval = interval
        self.dirty: set[Path] = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def mark(self, db_path: Path) -> None:
        with self.lock:
            self.dirty.add(db_path)

    def report(self, stats: ContainerStats) -> bool:
        ring = self.ring()
        part, nodes = ring.nodes(stats.account)
        path = f"/{part}/{stats.account}/{stats.container}"
        ok = [send(f"{n.ip}:{n.port}", "PUT", f"/{n.device}{path}", stats.headers()) for n in nodes]
        return sum(ok) * 2 > len(nodes)

    def flush(self) -> None:
        with self.lock:
            batch, self.dirty = self.dirty, set()
        for db_path in batch:
            stats = self.stats(db_path)
            if stats is not None and not self.report(stats):
                self.mark(db_path)

    def start(self) -> None:
        self.thread = run_every(
            self.interval, self.stopping, self.flush, "object-store-account-reports",
            "account report failed",
        )  # fmt: skip

    def stop(self) -> None:
        self.stopping.set()


def node_host(node: Node) -> str:
    return f"{node.ip}:{node.port}"


class PendingUpdater:
    """The object updater: completes every device's old intents and retries its async
    pendings every ``interval``."""

    def __init__(self, devices: Path, interval: float = 2.0) -> None:
        self.devices = devices
        self.interval = interval
        self.stopping = threading.Event()

    def sweep(self) -> int:
        sent = 0
        try:
            devs = [d for d in self.devices.iterdir() if d.is_dir() and not d.name.startswith(".")]
        except FileNotFoundError:
            return 0
        for dev in devs:
            complete_intents(dev)
            sent += retry_pending(dev)
        return sent

    def start(self) -> None:
        run_every(
            self.interval, self.stopping, self.sweep, "object-store-updater",
            "object updater sweep failed",
        )  # fmt: skip

    def stop(self) -> None:
        self.stopping.set()
