"""The ring builder: partitions assigned to weighted devices, replicas dispersed.

As Swift's ring overview describes it: ``2 ** part_power`` partitions, each with
``replicas`` assignments; every device wants a share of the assignments proportional to
its weight; a partition's replicas go to distinct regions, then zones, then IPs, then
devices, as far as the devices allow; after a partition moves, none of its replicas moves
again for ``min_part_hours`` (except off a removed device), so a rebalance never moves
more than one replica of a partition at a time. The builder's state is a JSON file; the
ring it writes (:meth:`RingBuilder.ring_data`) is what the nodes load.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tinystack.object_store.exception import RingError

NONE = -1
MAX_PART_POWER = 24


@dataclass
class Device:
    id: int
    region: int
    zone: int
    ip: str
    port: int
    device: str
    weight: float
    meta: str = ""

    def tier(self) -> tuple[int, int, str, int]:
        return (self.region, self.zone, self.ip, self.id)


@dataclass
class RingBuilder:
    part_power: int
    replicas: int
    min_part_hours: int
    devs: list[Device | None] = field(default_factory=list)
    #: replica -> partition -> device id (NONE: unassigned)
    assignment: list[list[int]] = field(default_factory=list)
    #: partition -> epoch seconds of its last move
    last_moved: list[float] = field(default_factory=list)
    version: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.part_power <= MAX_PART_POWER:
            raise RingError(f"part_power must be between 1 and {MAX_PART_POWER}")
        if self.replicas < 1:
            raise RingError("replicas must be at least 1")
        if self.min_part_hours < 0:
            raise RingError("min_part_hours must be 0 or more")
        if not self.assignment:
            parts = self.parts
            self.assignment = [[NONE] * parts for _ in range(self.replicas)]
            self.last_moved = [0.0] * parts

    @property
    def parts(self) -> int:
        return int(2**self.part_power)

    # -- devices -----------------------------------------------------------------------
    def add_dev(
        self, *, region: int, zone: int, ip: str, port: int, device: str, weight: float
    ) -> Device:
        if weight < 0:
            raise RingError("weight must not be negative")
        for dev in self.active():
            if (dev.ip, dev.port, dev.device) == (ip, port, device):
                raise RingError(f"device {ip}:{port}/{device} is already in the ring")
        dev = Device(len(self.devs), region, zone, ip, port, device, float(weight))
        self.devs.append(dev)
        return dev

    def set_weight(self, dev_id: int, weight: float) -> None:
        self._dev(dev_id).weight = float(weight)

    def remove_dev(self, dev_id: int) -> None:
        self._dev(dev_id)
        self.devs[dev_id] = None

    def _dev(self, dev_id: int) -> Device:
        dev = self.devs[dev_id] if 0 <= dev_id < len(self.devs) else None
        if dev is None:
            raise RingError(f"no device {dev_id}")
        return dev

    def active(self) -> list[Device]:
        return [d for d in self.devs if d is not None]

    def weighted(self) -> list[Device]:
        return [d for d in self.active() if d.weight > 0]

    # -- balance -----------------------------------------------------------------------
    def wanted(self) -> dict[int, float]:
        """Each weighted device's share of the ``parts * replicas`` assignments."""
        devs = self.weighted()
        total = sum(d.weight for d in devs)
        return {d.id: self.parts * self.replicas * d.weight / total for d in devs}

    def counts(self) -> dict[int, int]:
        found = {d.id: 0 for d in self.active()}
        for row in self.assignment:
            for dev_id in row:
                if dev_id != NONE:
                    found[dev_id] = found.get(dev_id, 0) + 1
        return found

    def balance(self) -> float:
        """The worst device's distance from its wanted share, in percent."""
        wanted = self.wanted()
        counts = self.counts()
        worst = 0.0
        for dev_id, share in wanted.items():
            worst = max(worst, abs(counts.get(dev_id, 0) - share) * 100.0 / share)
        return worst

    def dispersion(self) -> int:
        """Partitions with two replicas in one zone although a zone holds none of them."""
        zones = {(d.region, d.zone) for d in self.weighted()}
        bad = 0
        for part in range(self.parts):
            used = [self._zone(self.assignment[r][part]) for r in range(self.replicas)]
            if len(set(used)) < min(len(zones), self.replicas):
                bad += 1
        return bad

    def _zone(self, dev_id: int) -> tuple[int, int] | None:
        dev = self.devs[dev_id] if dev_id != NONE else None
        return (dev.region, dev.zone) if dev is not None else None

    # -- rebalance ---------------------------------------------------------------------
    def rebalance(self, now: float | None = None) -> int:
        """Reassign what must or may move; returns how many assignments changed."""
        now = time.time() if now is None else now
        devs = self.weighted()
        if len(devs) < 1:
            raise RingError("the ring has no device with a weight")
        alive = {d.id for d in devs}
        settle = self.min_part_hours * 3600
        movable = [now - self.last_moved[p] >= settle for p in range(self.parts)]
        moved: set[int] = set()
        unassigned: list[tuple[int, int]] = []

        def take(replica: int, part: int) -> None:
            self.assignment[replica][part] = NONE
            unassigned.append((replica, part))
            moved.add(part)

        # 1. replicas on removed or zero-weight devices move regardless of min_part_hours
        for r, row in enumerate(self.assignment):
            for p, dev_id in enumerate(row):
                if dev_id == NONE:
                    unassigned.append((r, p))
                elif dev_id not in alive:
                    take(r, p)
        # 2. replicas sharing a zone while another zone is free (one replica per part)
        zones = {(d.region, d.zone) for d in devs}
        for p in range(self.parts):
            if p in moved or not movable[p]:
                continue
            seen: set[tuple[int, int] | None] = set()
            for r in range(self.replicas):
                zone = self._zone(self.assignment[r][p])
                if zone is None:
                    continue
                if zone in seen and len(zones) > len(seen):
                    take(r, p)
                    break
                seen.add(zone)
        # 3. replicas on devices over their share (one replica per movable part)
        wanted = self.wanted()
        counts = self.counts()
        for r, row in enumerate(self.assignment):
            for p, dev_id in enumerate(row):
                if dev_id == NONE or p in moved or not movable[p]:
                    continue
                if counts[dev_id] > math.ceil(wanted[dev_id]):
                    counts[dev_id] -= 1
                    take(r, p)
        for r, p in unassigned:
            self._place(r, p, wanted, counts, devs)
            self.last_moved[p] = now
        if unassigned:
            self.version += 1
        return len(unassigned)

    def _place(
        self,
        replica: int,
        part: int,
        wanted: dict[int, float],
        counts: dict[int, int],
        devs: list[Device],
    ) -> None:
        others = [
            self.devs[self.assignment[r][part]]
            for r in range(self.replicas)
            if r != replica and self.assignment[r][part] != NONE
        ]
        taken = [d.tier() for d in others if d is not None]

        def key(dev: Device) -> tuple[int, int, int, int, float]:
            tier = dev.tier()
            same = [sum(1 for t in taken if t[: i + 1] == tier[: i + 1]) for i in range(4)]
            # fewest shared region, zone, ip, device; then the most wanted device
            return (same[3], same[0], same[1], same[2], counts[dev.id] - wanted[dev.id])

        best = min(devs, key=key)
        self.assignment[replica][part] = best.id
        counts[best.id] += 1

    # -- files -------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        state = {
            "part_power": self.part_power,
            "replicas": self.replicas,
            "min_part_hours": self.min_part_hours,
            "devs": [asdict(d) if d is not None else None for d in self.devs],
            "assignment": self.assignment,
            "last_moved": self.last_moved,
            "version": self.version,
        }
        _write_atomic(path, json.dumps(state).encode())

    @classmethod
    def load(cls, path: Path) -> RingBuilder:
        try:
            state = json.loads(path.read_bytes())
        except FileNotFoundError as exc:
            raise RingError(f"no ring builder at {path}") from exc
        devs = [Device(**d) if d is not None else None for d in state["devs"]]
        return cls(
            part_power=int(state["part_power"]),
            replicas=int(state["replicas"]),
            min_part_hours=int(state["min_part_hours"]),
            devs=devs,
            assignment=[list(row) for row in state["assignment"]],
            last_moved=[float(t) for t in state["last_moved"]],
            version=int(state["version"]),
        )

    def ring_data(self) -> dict[str, object]:
        """What the nodes load: the devices and the assignment table."""
        if any(dev_id == NONE for row in self.assignment for dev_id in row):
            raise RingError("the ring is not balanced yet: run rebalance")
        return {
            "part_shift": 32 - self.part_power,
            "replicas": self.replicas,
            "devs": [asdict(d) if d is not None else None for d in self.devs],
            "assignment": self.assignment,
            "version": self.version,
        }


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_ring(builder: RingBuilder, path: Path) -> None:
    """Write the ring file (gzipped JSON) atomically, so readers see old or new."""
    import gzip

    _write_atomic(path, gzip.compress(json.dumps(builder.ring_data()).encode(), mtime=0))
