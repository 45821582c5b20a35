"""Object expiry (``X-Delete-At``): an expired object reads as gone at once, and the
expirer deletes it for good. When a PUT or POST sets ``X-Delete-At`` the object server
queues the object on its device (``expiring/<delete_at>-<uuid>``, with the container
replica it updates); the expirer thread writes the tombstone (timestamped ``delete_at``)
and tells that container replica once the time has come, unless the object changed
its expiry (or was replaced) since."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from tinystack.object_store.storage import diskfile
from tinystack.object_store.storage.daemon import run_every
from tinystack.object_store.storage.diskfile import DiskFile
from tinystack.object_store.storage.paths import normalize
from tinystack.object_store.storage.updates import ContainerUpdate, update_container

LOG = logging.getLogger(__name__)
QUEUE = "expiring"


@dataclass(frozen=True, slots=True)
class Expiry:
    delete_at: int
    part: int
    name_hash: str
    account: str
    container: str
    obj: str
    #: the container replica to tell (host, device, partition), or empty
    container_host: str = ""
    container_device: str = ""
    container_partition: str = ""


def expired(meta: dict[str, str], now: float | None = None) -> bool:
    value = meta.get("X-Delete-At")
    if not value or not value.isdigit():
        return False
    return int(value) <= (time.time() if now is None else now)


def enqueue(dev: Path, expiry: Expiry) -> None:
    queue = dev / QUEUE
    queue.mkdir(exist_ok=True)
    tmp = dev / "tmp" / uuid.uuid4().hex
    tmp.parent.mkdir(exist_ok=True)
    tmp.write_text(json.dumps(asdict(expiry)))
    os.replace(tmp, queue / f"{expiry.delete_at:010d}-{uuid.uuid4().hex}")


def expire_device(dev: Path, now: float) -> int:
    """Expire what is due on one device; returns how many objects were deleted."""
    done = 0
    try:
        entries = sorted((dev / QUEUE).iterdir())
    except FileNotFoundError:
        return 0
    for entry in entries:
        if int(entry.name.split("-", 1)[0]) > now:
            break  # the queue is in delete_at order
        try:
            expiry = Expiry(**json.loads(entry.read_text()))
        except (OSError, ValueError, TypeError):
            entry.unlink(missing_ok=True)
            continue
        done += _expire(dev, expiry)
        entry.unlink(missing_ok=True)
    return done


def _expire(dev: Path, expiry: Expiry) -> int:
    disk = DiskFile(dev, expiry.part, expiry.name_hash)
    state = disk.state()
    if state is None or state.deleted or state.metadata.get("X-Delete-At") != str(expiry.delete_at):
        return 0  # deleted, replaced or given another expiry since
    timestamp = normalize(expiry.delete_at)
    name = f"/{expiry.account}/{expiry.container}/{expiry.obj}"
    try:
        disk.delete(timestamp, {diskfile.NAME: name})
    except Exception:  # a newer write won the race: nothing to expire
        return 0
    if expiry.container_host:
        update_container(dev, ContainerUpdate(
            expiry.container_host, expiry.container_device, expiry.container_partition,
            "DELETE", expiry.account, expiry.container, expiry.obj,
            {"X-Timestamp": timestamp},
        ))  # fmt: skip
    return 1


class Expirer:
    def __init__(self, devices: Path, interval: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.devices = devices
        self.interval = interval
        self.clock = clock
        self.stopping = threading.Event()

    def sweep(self) -> int:
        done = 0
        with contextlib.suppress(FileNotFoundError):
            for dev in sorted(self.devices.iterdir()):
                if dev.is_dir():
                    done += expire_device(dev, self.clock())
        return done

    def start(self) -> None:
        run_every(
            self.interval, self.stopping, self.sweep, "object-store-expirer",
            "object expirer sweep failed",
        )  # fmt: skip

    def stop(self) -> None:
        self.stopping.set()
