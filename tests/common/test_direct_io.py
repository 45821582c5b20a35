"""SequentialWriter: every byte lands in order, large files go O_DIRECT, small ones and
filesystems that refuse it keep the page cache."""

from __future__ import annotations

import fcntl
import os
import random
from pathlib import Path

import pytest

from tinystack.common import direct_io
from tinystack.common.direct_io import SequentialWriter


def _write(path: Path, pieces: list[bytes], **kwargs: int) -> bool:
    """Write ``pieces`` to a new file; whether O_DIRECT was on before finish()."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        writer = SequentialWriter(fd, **kwargs)
        for piece in pieces:
            writer.write(piece)
        direct = bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)
        writer.finish()
        assert not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT  # cleared for the tail
        os.fsync(fd)
    finally:
        os.close(fd)
    return direct


def _pieces(total: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out, left = [], total
    while left:
        n = min(left, rng.choice([1, 17, 4096, 65536, 100_003, 1 << 20]))
        out.append(rng.randbytes(n))
        left -= n
    return out


@pytest.mark.parametrize(
    ("total", "direct"),
    [
        (0, False),
        (4096, False),
        (64 * 1024, False),  # held, then written through the cache
        (64 * 1024 + 1, True),  # past the threshold: direct from then on
        (256 * 1024, True),  # exactly the buffer
        (3 * 256 * 1024 + 4095, True),  # whole buffers and an unaligned tail
    ],
)
def test_bytes_arrive_in_order(tmp_path: Path, total: int, direct: bool) -> None:
    pieces = _pieces(total, total)
    path = tmp_path / "f"
    used = _write(path, pieces, threshold=64 * 1024, buffer_size=256 * 1024)
    assert used is direct
    assert path.read_bytes() == b"".join(pieces)


def test_a_filesystem_refusing_o_direct_keeps_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # filesystems differ (tmpfs takes O_DIRECT since Linux 6.6): refuse it here
    monkeypatch.setattr(direct_io, "set_direct", lambda fd, on=True: not on)
    pieces = _pieces(600 * 1024, 7)
    path = tmp_path / "f"
    assert _write(path, pieces, threshold=64 * 1024, buffer_size=256 * 1024) is False
    assert path.read_bytes() == b"".join(pieces)


def test_the_buffer_must_be_aligned_and_hold_the_threshold() -> None:
    with pytest.raises(ValueError):
        SequentialWriter(0, threshold=1 << 20, buffer_size=64 * 1024)
    with pytest.raises(ValueError):
        SequentialWriter(0, threshold=1024, buffer_size=4097)
