"""What ``tinystack object-store ring ...`` does (the CLI in tinystack/cli.py parses)."""

from __future__ import annotations

from pathlib import Path

from tinystack.object_store.exception import RingError
from tinystack.object_store.ring.builder import RingBuilder, write_ring
from tinystack.object_store.ring.layout import RINGS, builder_path, ring_path


def _path(ring_dir: Path, name: str) -> Path:
    if name not in RINGS:
        raise RingError(f"unknown ring {name!r}; choose among {', '.join(RINGS)}")
    return builder_path(ring_dir, name)


def create(ring_dir: Path, name: str, part_power: int, replicas: int, min_part_hours: int) -> str:
    path = _path(ring_dir, name)
    if path.exists():
        raise RingError(f"{path} exists")
    RingBuilder(part_power, replicas, min_part_hours).save(path)
    return f"created {path}"


def add(
    ring_dir: Path,
    name: str,
    *,
    region: int,
    zone: int,
    ip: str,
    port: int,
    device: str,
    weight: float,
) -> str:
    path = _path(ring_dir, name)
    builder = RingBuilder.load(path)
    dev = builder.add_dev(region=region, zone=zone, ip=ip, port=port, device=device, weight=weight)
    builder.save(path)
    return f"device d{dev.id} r{region}z{zone}-{ip}:{port}/{device} weight {weight} added"


def rebalance(ring_dir: Path, name: str) -> str:
    path = _path(ring_dir, name)
    builder = RingBuilder.load(path)
    moved = builder.rebalance()
    builder.save(path)
    if moved:
        write_ring(builder, ring_path(ring_dir, name))
        return (
            f"reassigned {moved} replicas; balance {builder.balance():.2f}, "
            f"dispersion {builder.dispersion()}; wrote {ring_path(ring_dir, name)}"
        )
    return f"nothing to move (min_part_hours {builder.min_part_hours}); ring unchanged"


def show(ring_dir: Path, name: str) -> str:
    builder = RingBuilder.load(_path(ring_dir, name))
    counts = builder.counts()
    lines = [
        f"{name}: {builder.parts} partitions, {builder.replicas} replicas, "
        f"{len(builder.active())} devices, min_part_hours {builder.min_part_hours}, "
        f"version {builder.version}",
        f"balance {builder.balance():.2f}, dispersion {builder.dispersion()}",
        "  id region zone ip:port/device           weight partitions",
    ]
    for dev in builder.active():
        where = f"{dev.ip}:{dev.port}/{dev.device}"
        lines.append(
            f"  {dev.id:>2} {dev.region:>6} {dev.zone:>4} {where:<24} {dev.weight:>6g} "
            f"{counts.get(dev.id, 0):>10}"
        )
    return "\n".join(lines)
