"""The ring builder and the ring as nodes load it: balance, dispersion, min_part_hours,
handoffs, reload on change."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from tinystack.object_store.exception import RingError
from tinystack.object_store.ring.builder import NONE, RingBuilder, write_ring
from tinystack.object_store.ring.layout import (
    DefaultLayout,
    Rings,
    ensure_default,
    hash_suffix,
    ring_path,
)
from tinystack.object_store.ring.ring import Ring

HOUR = 3600.0
PORTS = {"object": 6200, "container": 6201, "account": 6202}


def builder(zones: int, per_zone: int = 1, power: int = 8, replicas: int = 3) -> RingBuilder:
    b = RingBuilder(power, replicas, 1)
    for z in range(1, zones + 1):
        for i in range(per_zone):
            b.add_dev(region=1, zone=z, ip=f"10.0.0.{z}", port=6200, device=f"sd{i}", weight=100)
    return b


def test_balanced_and_each_partition_in_distinct_zones() -> None:
    b = builder(zones=4, per_zone=2)
    b.rebalance(now=0)
    assert b.balance() < 2.0
    assert b.dispersion() == 0
    for part in range(b.parts):
        zones = {b.devs[b.assignment[r][part]].zone for r in range(3)}  # type: ignore[union-attr]
        assert len(zones) == 3


def test_weights_are_honoured() -> None:
    b = RingBuilder(8, 1, 0)
    b.add_dev(region=1, zone=1, ip="a", port=1, device="x", weight=100)
    b.add_dev(region=1, zone=2, ip="b", port=1, device="y", weight=300)
    b.rebalance(now=0)
    counts = b.counts()
    assert counts == {0: 64, 1: 192}


def test_min_part_hours_limits_moves_to_one_replica_per_part() -> None:
    b = builder(zones=3)
    b.rebalance(now=0)
    b.add_dev(region=1, zone=4, ip="10.0.0.4", port=6200, device="sd0", weight=100)
    # within min_part_hours nothing may move (no device was removed)
    assert b.rebalance(now=HOUR / 2) == 0
    before = [row[:] for row in b.assignment]
    moved = b.rebalance(now=2 * HOUR)
    assert moved > 0
    for part in range(b.parts):
        changed = sum(before[r][part] != b.assignment[r][part] for r in range(3))
        assert changed <= 1
    # the parts that moved wait again before the next balancing pass moves them
    assert b.rebalance(now=2 * HOUR + 60) == 0
    b.rebalance(now=4 * HOUR)
    b.rebalance(now=6 * HOUR)
    assert b.balance() < 2.0
    assert b.dispersion() == 0


def test_a_removed_device_is_drained_at_once() -> None:
    b = builder(zones=4)
    b.rebalance(now=0)
    b.remove_dev(3)
    assert b.rebalance(now=1) > 0
    assert all(dev_id != 3 and dev_id != NONE for row in b.assignment for dev_id in row)
    assert b.dispersion() == 0


def test_bad_builders_are_refused() -> None:
    with pytest.raises(RingError):
        RingBuilder(0, 3, 1)
    with pytest.raises(RingError):
        RingBuilder(8, 3, 1).rebalance()
    b = builder(zones=1)
    with pytest.raises(RingError):
        b.add_dev(region=1, zone=1, ip="10.0.0.1", port=6200, device="sd0", weight=1)


def test_ring_file_routes_and_reloads(tmp_path: Path) -> None:
    b = builder(zones=3, power=6)
    b.rebalance(now=0)
    path = tmp_path / "object.ring.gz"
    write_ring(b, path)
    ring = Ring(path, "", "salt", reload_seconds=0)
    part, nodes = ring.nodes("AUTH_p", "c", "o")
    assert 0 <= part < 64 and len(nodes) == 3
    assert [n.index for n in nodes] == [0, 1, 2]
    assert [n.id for n in nodes] == [b.assignment[r][part] for r in range(3)]
    assert ring.part("AUTH_p", "c", "o") == part
    handoffs = list(ring.handoffs(part))
    assert handoffs == []  # every device is a primary
    b.add_dev(region=1, zone=4, ip="10.0.0.4", port=6200, device="sd0", weight=100)
    b.rebalance(now=2 * HOUR)
    write_ring(b, path)
    later = time.time() + 5
    os.utime(path, (later, later))
    assert len(ring.devs) == 3
    ring.primaries(part)  # reloaded on the next lookup
    assert len(ring.devs) == 4
    part2 = next(p for p in range(64) if 3 not in [row[p] for row in b.assignment])
    assert [h.id for h in ring.handoffs(part2)] == [3]


def test_default_layout(tmp_path: Path) -> None:
    layout = DefaultLayout(
        "127.0.0.1", PORTS, devices=3, replicas=3, part_power=6, min_part_hours=1
    )
    ensure_default(tmp_path, layout)
    rings = Rings.load(tmp_path)
    for ring in (rings.account, rings.container, rings.object):
        _, nodes = ring.nodes("AUTH_x", "c")
        assert sorted(n.zone for n in nodes) == [1, 2, 3]
    mtime = ring_path(tmp_path, "object").stat().st_mtime
    ensure_default(tmp_path, layout)  # an existing ring is kept
    assert ring_path(tmp_path, "object").stat().st_mtime == mtime
    ensure_default(tmp_path, DefaultLayout("127.0.0.1", {**PORTS, "object": 6300}, 3, 3, 6, 1))
    assert {n.port for n in Ring(ring_path(tmp_path, "object"), "", "s", 0).primaries(0)} == {6300}


def test_hash_path_suffix_is_a_private_file(tmp_path: Path) -> None:
    """The cluster's path salt is a secret (Swift's swift_hash_path_suffix): mode 0600."""
    salt = hash_suffix(tmp_path / "rings")
    assert len(salt) == 32 and hash_suffix(tmp_path / "rings") == salt
    assert stat.S_IMODE((tmp_path / "rings" / "hash_path_suffix").stat().st_mode) == 0o600
