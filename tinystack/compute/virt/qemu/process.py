"""QEMU processes: start daemonized, find by pidfile, check, kill by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tinystack.compute.virt.driver import DriverError


def read_pid(pidfile: Path) -> int | None:
    try:
        text = pidfile.read_text().strip()
    except (FileNotFoundError, OSError):
        return None
    return int(text) if text.isdigit() else None


def _stat(pid: int) -> tuple[str, int] | None:
    """The process's state letter (R, S, Z, ...) and start time (clock ticks after boot),
    None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, OSError):
        return None
    # the command name is in parentheses and may hold spaces: field 3 (the state) follows
    # the last ")", field 22 (the start time) 19 fields later
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[0], int(fields[19])


def _state(pid: int) -> str | None:
    """The process state letter (R, S, Z, ...), None when there is no such process."""
    found = _stat(pid)
    return found[0] if found is not None else None


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, OSError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_ours(pid: int, uuid: str) -> bool:
    """Is ``pid`` a live (not zombie) QEMU started for instance ``uuid``?"""
    state = _state(pid)
    if state is None or state in ("Z", "X"):
        return False
    args = cmdline(pid)
    if not args or "qemu" not in os.path.basename(args[0]):
        return False
    return any(a == "-uuid" and b == uuid for a, b in zip(args, args[1:], strict=False))


def find(pidfile: Path, uuid: str) -> int | None:
    """The PID of the instance's QEMU if it runs."""
    pid = read_pid(pidfile)
    if pid is not None and is_ours(pid, uuid):
        return pid
    return None


def start(cmd: list[str], pidfile: Path, uuid: str, timeout: float = 60) -> int:
    """Run a ``-daemonize`` QEMU command; the daemon's PID once it is up."""
    pidfile.unlink(missing_ok=True)
    try:
        proc = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            close_fds=True,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DriverError(f"cannot start QEMU: {exc}") from exc
    if proc.returncode != 0:
        message = (proc.stderr or proc.stdout).decode(errors="replace").strip()
        raise DriverError(f"QEMU failed to start ({proc.returncode}): {message[-2000:]}")
    deadline = time.monotonic() + 5
    while True:
        pid = find(pidfile, uuid)
        if pid is not None:
            return pid
        if time.monotonic() > deadline:
            raise DriverError("QEMU started but its pidfile names no running QEMU")
        time.sleep(0.02)


def wait_gone(pid: int, uuid: str, timeout: float) -> bool:
    """Wait until the instance's QEMU ``pid`` has exited: no such process, a zombie, or
    another process under its PID. Its command line is no sign: it reads empty from the
    start of the exit, while QEMU still frees the guest's memory and holds its files, and
    with them its images' locks (a QEMU started on the same volume then failed to get
    the "write" lock)."""
    first = _stat(pid)
    if first is None or (cmdline(pid) and not is_ours(pid, uuid)):
        return True
    deadline = time.monotonic() + timeout
    while True:
        now = _stat(pid)
        if now is None or now[0] in ("Z", "X") or now[1] != first[1]:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def kill(pid: int, uuid: str, timeout: float = 10) -> None:
    """SIGKILL the instance's QEMU (after checking the PID is still it) and wait for it."""
    if not is_ours(pid, uuid):
        return
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if not wait_gone(pid, uuid, timeout):
        raise DriverError(f"QEMU {pid} did not die")
