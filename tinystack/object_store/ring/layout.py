"""Where the rings live and the all-in-one default: one builder and one ring file per
ring (account, container, object) in the ring directory, and the cluster's hash salt."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from tinystack.object_store.ring.builder import RingBuilder, write_ring
from tinystack.object_store.ring.ring import Ring

RINGS = ("account", "container", "object")


def builder_path(ring_dir: Path, name: str) -> Path:
    return ring_dir / f"{name}.builder"


def ring_path(ring_dir: Path, name: str) -> Path:
    return ring_dir / f"{name}.ring.gz"


def hash_suffix(ring_dir: Path) -> str:
    """The cluster's secret path salt (swift.conf's ``swift_hash_path_suffix``), made
    once; every node of a cluster must share it with the ring files."""
    path = ring_dir / "hash_path_suffix"
    if not path.exists():
        ring_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # a secret salt
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(16))
        tmp.replace(path)
    return path.read_text().strip()


@dataclass(frozen=True)
class DefaultLayout:
    """The all-in-one layout: ``devices`` devices in as many zones on one server."""

    ip: str
    #: ring name -> the port of its servers (Swift: object 6200, container 6201, account 6202)
    ports: dict[str, int]
    devices: int
    replicas: int
    part_power: int
    min_part_hours: int


def device_names(count: int) -> list[str]:
    return [f"d{i + 1}" for i in range(count)]


def ensure_default(ring_dir: Path, layout: DefaultLayout) -> None:
    """Build any missing ring of the default layout (kept when it exists: an operator's
    ring is never overwritten); a ring whose devices moved port is re-addressed."""
    for name in RINGS:
        port = layout.ports[name]
        path = builder_path(ring_dir, name)
        if path.exists():
            builder = RingBuilder.load(path)
            changed = False
            for dev in builder.active():
                if dev.ip == layout.ip and dev.port != port and dev.meta == "default":
                    dev.port = port
                    changed = True
            if changed:
                builder.version += 1
                builder.save(path)
                write_ring(builder, ring_path(ring_dir, name))
            continue
        builder = RingBuilder(layout.part_power, layout.replicas, layout.min_part_hours)
        for zone, device in enumerate(device_names(layout.devices), start=1):
            dev = builder.add_dev(
                region=1, zone=zone, ip=layout.ip, port=port, device=device, weight=100
            )
            dev.meta = "default"
        builder.rebalance()
        builder.save(path)
        write_ring(builder, ring_path(ring_dir, name))


@dataclass
class Rings:
    account: Ring
    container: Ring
    object: Ring

    @classmethod
    def load(cls, ring_dir: Path, reload_seconds: float = 1.0) -> Rings:
        suffix = hash_suffix(ring_dir)

        def one(name: str) -> Ring:
            return Ring(ring_path(ring_dir, name), "", suffix, reload_seconds)

        return cls(one("account"), one("container"), one("object"))
