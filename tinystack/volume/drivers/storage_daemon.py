"""One ``qemu-storage-daemon`` process: started, found again, asked, stopped — by PID.

The daemon runs ``--daemonize`` (its parent exits once the QMP socket and the NBD
listener are up, so a started daemon is a ready daemon, and it is nobody's child: it
outlives a manager killed with -9, which is what lets guests keep their disks across a
manager restart). It is ours when the PID in our pidfile is a live qemu-storage-daemon
whose command line names our QMP socket; any other daemon on the machine (another
backend, another helper's test) is never signalled.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tinystack.common.qmp import QMP, QMPError
from tinystack.volume.drivers.errors import BackendError

LOG = logging.getLogger(__name__)
BINARY = "qemu-storage-daemon"


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def running(pid: int) -> bool:
    """A live process (not a zombie waiting for its parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


class StorageDaemon:
    """A qemu-storage-daemon with a QMP socket (and optionally an NBD server) in
    ``state_dir``. ``lock`` serialises QMP sessions (a monitor serves one client)."""

    def __init__(self, state_dir: Path, nbd_address: tuple[str, int] | Path | None) -> None:
        #: sockets, pidfile and log: keep it short, a unix socket path has 107 bytes
        self.state_dir = state_dir
        #: (host, port) for TCP, a Path for a unix socket, None for no NBD server
        self.nbd_address = nbd_address
        self.qmp_path = state_dir / "qmp.sock"
        self.pidfile = state_dir / "daemon.pid"
        self.logfile = state_dir / "daemon.log"
        self.lock = threading.RLock()

    # -- the process ---------------------------------------------------------------------
    def pid(self) -> int | None:
        """The daemon's PID when it runs and is ours, else None."""
        try:
            text = self.pidfile.read_text().strip()
        except OSError:
            return None
        if not text.isdigit():
            return None
        pid = int(text)
        args = _cmdline(pid)
        if not args or os.path.basename(args[0]) != BINARY or not running(pid):
            return None
        if not any(str(self.qmp_path) in arg for arg in args):
            return None
        return pid

    def _nbd_args(self) -> list[str]:
        if self.nbd_address is None:
            return []
        if isinstance(self.nbd_address, Path):
            return ["--nbd-server", f"addr.type=unix,addr.path={self.nbd_address}"]
        host, port = self.nbd_address
        return ["--nbd-server", f"addr.type=inet,addr.host={host},addr.port={port}"]

    def start(self, blockdevs: list[str] | None = None) -> bool:
        """Start the daemon unless ours runs; True when it was (re)started, so the
        caller knows every node and export must be added again."""
        with self.lock:
            if self.pid() is not None:
                return False
            self.state_dir.mkdir(parents=True, exist_ok=True)
            self.pidfile.unlink(missing_ok=True)
            self.qmp_path.unlink(missing_ok=True)
            if isinstance(self.nbd_address, Path):
                self.nbd_address.unlink(missing_ok=True)
            cmd = [
                BINARY,
                "--chardev",
                f"socket,id=qmp0,path={self.qmp_path},server=on,wait=off",
                "--monitor",
                "chardev=qmp0",
                *self._nbd_args(),
                *[arg for spec in blockdevs or [] for arg in ("--blockdev", spec)],
                "--pidfile",
                str(self.pidfile),
                "--daemonize",
            ]
            with open(self.logfile, "ab") as log:
                try:
                    proc = subprocess.run(
                        cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.PIPE,
                        timeout=60, check=False, close_fds=True,
                    )  # fmt: skip
                except (OSError, subprocess.TimeoutExpired) as exc:
                    raise BackendError(f"cannot start {BINARY}: {exc}") from exc
            if proc.returncode != 0:
                message = proc.stderr.decode(errors="replace").strip()
                raise BackendError(f"{BINARY} failed to start: {message[-2000:]}")
            if self.pid() is None:
                raise BackendError(f"{BINARY} started but its pidfile names no daemon")
            LOG.info("started %s pid %s in %s", BINARY, self.pid(), self.state_dir)
            return True

    def stop(self, timeout: float = 10.0) -> None:
        """Stop our daemon (SIGTERM, then SIGKILL); nothing when none of ours runs."""
        with self.lock:
            pid = self.pid()
            if pid is None:
                return
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while running(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if running(pid):
                os.kill(pid, signal.SIGKILL)
                while running(pid):
                    time.sleep(0.02)
            self.pidfile.unlink(missing_ok=True)
            self.qmp_path.unlink(missing_ok=True)

    # -- QMP -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self, timeout: float = 30.0) -> Iterator[QMP]:
        """A QMP session under the daemon's lock; QMP's failures are BackendErrors."""
        try:
            with self.lock, QMP(self.qmp_path, timeout) as qmp:
                yield qmp
        except QMPError as exc:
            raise BackendError(str(exc)) from exc

    def command(self, name: str, arguments: dict[str, Any] | None = None) -> Any:
        with self.session() as qmp:
            return qmp.command(name, arguments)

    def run_job(self, name: str, arguments: dict[str, Any], timeout: float) -> None:
        """Run a block job (``arguments`` carry its ``job-id``) to its end; a
        BackendError when it fails. Its progress is polled with short QMP sessions, so
        attaches and detaches on the same daemon go on while a long copy runs."""
        job_id = str(arguments["job-id"])
        self.command(name, {**arguments, "auto-dismiss": False})
        deadline = time.monotonic() + timeout
        try:
            while True:
                jobs = self.command("query-jobs")
                job = next((j for j in jobs if j.get("id") == job_id), None)
                if job is None:
                    raise BackendError(f"{name} {job_id} disappeared (daemon restarted?)")
                if job.get("status") == "concluded":
                    error = job.get("error")
                    break
                if time.monotonic() > deadline:
                    with contextlib.suppress(BackendError):
                        self.command("job-cancel", {"id": job_id, "force": True})
                    raise BackendError(f"{name} {job_id} did not finish in {timeout:.0f} s")
                time.sleep(0.05)
        finally:
            with contextlib.suppress(BackendError):
                self.command("job-dismiss", {"id": job_id})
        if error:
            raise BackendError(f"{name} {job_id} failed: {error}")
