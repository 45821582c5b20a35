"""When a QEMU counts as gone: not before its exit has closed its files (the images'
locks go with them), which is after its command line reads empty."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tinystack.compute.virt.qemu import process

UUID = "6f1c3c1e-0000-4000-8000-000000000001"


def _exiting(monkeypatch: pytest.MonkeyPatch, states: list[tuple[str, int] | None]) -> list[int]:
    """A QEMU in its exit: an empty command line, then ``states`` one read at a time."""
    reads: list[int] = []

    def stat(pid: int) -> tuple[str, int] | None:
        reads.append(pid)
        return states[min(len(reads), len(states)) - 1]

    monkeypatch.setattr(process, "cmdline", lambda pid: [])
    monkeypatch.setattr(process, "_stat", stat)
    return reads


def test_an_exiting_qemu_is_waited_for_until_it_is_a_zombie(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the old test (is it still a QEMU of this uuid?) said "gone" at the first look
    reads = _exiting(monkeypatch, [("R", 7), ("D", 7), ("D", 7), ("Z", 7)])
    assert process.wait_gone(4242, UUID, 5)
    assert len(reads) == 4


def test_a_pid_taken_by_another_process_is_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    reads = _exiting(monkeypatch, [("R", 7), ("S", 8)])
    assert process.wait_gone(4242, UUID, 5) and len(reads) == 2


def test_an_exit_that_does_not_end_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    _exiting(monkeypatch, [("D", 7)])
    assert not process.wait_gone(4242, UUID, 0.1)


def test_a_live_process_that_is_not_this_qemu_is_not_waited_for() -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert process.wait_gone(other.pid, UUID, 5)
    finally:
        other.kill()
        other.wait()
    assert process.wait_gone(other.pid, UUID, 5)  # reaped: no such process
