"""iSCSI exports through ``tgtd``, the userspace SCSI target (DevStack's default path).

Only raw volumes can be served: tgt's ``rdwr`` backing store reads and writes a file's
bytes as they are, and has no qcow2 support (qcow2 volumes keep NBD). The compute side
opens the target with QEMU's built-in iSCSI client (``qemu-block-extra``), no kernel
initiator needed.

One ``tgtd`` per backend, with its own control port (``tgtadm -C``) and portal, so it
never touches a tgtd another backend or the distribution's service runs. It is started
in the foreground in its own session with our pidfile (tgtd writes none) and is ours
when that PID is a tgtd whose command line names our control port. Each attachment is
one target (``<iqn prefix>volume-<volume id>.<attachment id>``, LUN 1) protected by CHAP
credentials made for it; the target and account go away on ``terminate_connection``.
tgtd keeps its configuration in memory only: after it died the export code adds every
recorded target again with the same tid, IQN and credentials.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from tinystack.volume.drivers.errors import BackendError
from tinystack.volume.drivers.storage_daemon import running

LOG = logging.getLogger(__name__)
IQN_PREFIX = "iqn.2010-10.org.openstack:"


class TgtDaemon:
    """A private tgtd: control port ``control_port``, portal ``portal``."""

    def __init__(self, run_dir: Path, portal: tuple[str, int], control_port: int) -> None:
        self.run_dir = run_dir
        self.portal = portal
        self.control_port = control_port
        self.pidfile = run_dir / "tgtd.pid"
        self.logfile = run_dir / "tgtd.log"
        self.lock = threading.RLock()
        self._child: subprocess.Popen[bytes] | None = None

    def pid(self) -> int | None:
        if self._child is not None and self._child.poll() is not None:
            self._child = None  # reaped: no zombie left behind
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        if os.path.basename(args[0]) != b"tgtd" or not running(pid):
            return None
        if str(self.control_port).encode() not in args:
            return None
        return pid

    def start(self) -> bool:
        """Start tgtd unless ours runs; True when started (targets must be added)."""
        with self.lock:
            if self.pid() is not None:
                return False
            self.run_dir.mkdir(parents=True, exist_ok=True)
            host, port = self.portal
            cmd = ["tgtd", "-f", "-C", str(self.control_port), "--iscsi", f"portal={host}:{port}"]
            with open(self.logfile, "ab") as log:
                try:
                    self._child = subprocess.Popen(
                        cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                        start_new_session=True, close_fds=True,
                    )  # fmt: skip
                except OSError as exc:
                    raise BackendError(f"cannot start tgtd: {exc}") from exc
            self.pidfile.write_text(str(self._child.pid))
            deadline = time.monotonic() + 10
            while True:
                try:
                    self.tgtadm("--op", "show", "--mode", "target")
                    break
                except BackendError:
                    if self._child.poll() is not None or time.monotonic() > deadline:
                        raise BackendError(
                            f"tgtd did not start: {self.logfile.read_text()[-1000:]}"
                        ) from None
                    time.sleep(0.05)
            LOG.info("started tgtd pid %s on %s:%s", self._child.pid, host, port)
            return True

    def stop(self) -> None:
        """Remove every target and stop our tgtd (SIGKILL if it does not exit)."""
        with self.lock:
            pid = self.pid()
            if pid is None:
                return
            with contextlib.suppress(BackendError):
                for tid in self.tids():
                    self.tgtadm("--op", "delete", "--mode", "target", "--tid", str(tid), "--force")
                self.tgtadm("--op", "delete", "--mode", "system")
            deadline = time.monotonic() + 5
            while running(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if running(pid):
                os.kill(pid, signal.SIGKILL)
            if self._child is not None:
                self._child.wait()
                self._child = None
            self.pidfile.unlink(missing_ok=True)
            for leftover in (f"socket.{self.control_port}", f"socket.{self.control_port}.lock"):
                Path("/var/run/tgtd", leftover).unlink(missing_ok=True)

    def tgtadm(self, *args: str) -> str:
        try:
            proc = subprocess.run(
                ["tgtadm", "-C", str(self.control_port), "--lld", "iscsi", *args],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BackendError(f"tgtadm failed: {exc}") from exc
        if proc.returncode != 0:
            raise BackendError(f"tgtadm {' '.join(args[:4])} failed: {proc.stderr.strip()}")
        return proc.stdout

    def tids(self) -> list[int]:
        """The target ids tgtd serves now."""
        tids = []
        for line in self.tgtadm("--op", "show", "--mode", "target").splitlines():
            if line.startswith("Target ") and ":" in line:
                tids.append(int(line.split()[1].rstrip(":")))
        return tids

    def add_target(self, tid: int, iqn: str, path: str, user: str, password: str) -> None:
        """Target ``tid`` serving ``path`` as LUN 1 to whoever knows the CHAP secret."""
        if tid in self.tids():
            return
        self.tgtadm("--op", "new", "--mode", "target", "--tid", str(tid), "-T", iqn)
        try:
            self.tgtadm(
                "--op", "new", "--mode", "logicalunit", "--tid", str(tid), "--lun", "1",
                "-b", path, "--bstype", "rdwr",
            )  # fmt: skip
            with contextlib.suppress(BackendError):  # an account left by a crash
                self.tgtadm("--op", "delete", "--mode", "account", "--user", user)
            self.tgtadm("--op", "new", "--mode", "account", "--user", user, "--password", password)
            self.tgtadm("--op", "bind", "--mode", "account", "--tid", str(tid), "--user", user)
            self.tgtadm("--op", "bind", "--mode", "target", "--tid", str(tid), "-I", "ALL")
        except BackendError:
            self.del_target(tid, user)
            raise

    def refresh_lun(self, tid: int, path: str) -> None:
        """Make LUN 1 of ``tid`` report its file's current size (tgt reads the size
        when a LUN is created): the LUN is removed and added again; initiators see a
        unit attention and read the new capacity (QEMU on ``block_resize``)."""
        self.tgtadm("--op", "delete", "--mode", "logicalunit", "--tid", str(tid), "--lun", "1")
        self.tgtadm(
            "--op", "new", "--mode", "logicalunit", "--tid", str(tid), "--lun", "1",
            "-b", path, "--bstype", "rdwr",
        )  # fmt: skip

    def del_target(self, tid: int, user: str) -> None:
        if tid in self.tids():
            self.tgtadm("--op", "delete", "--mode", "target", "--tid", str(tid), "--force")
        with contextlib.suppress(BackendError):
            self.tgtadm("--op", "delete", "--mode", "account", "--user", user)
