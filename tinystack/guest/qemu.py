"""Boot the test guest under QEMU, watch its serial console, stop it through QMP.

A small helper for the KVM probe and the tests (not the compute driver): the
guest's serial port goes to a file, QMP listens on a unix socket, and the QEMU
process is always killed by its PID when the caller is done with it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

QEMU = "qemu-system-x86_64"


class QemuError(RuntimeError):
    pass


def qemu_binary() -> str | None:
    return shutil.which(QEMU)


def base_command(
    disk: Path,
    serial_log: Path,
    qmp_socket: Path,
    *,
    accel: str = "tcg",
    memory_mb: int = 256,
    snapshot: bool = False,
    disk_format: str = "qcow2",
) -> list[str]:
    """QEMU arguments booting ``disk`` as a virtio disk, headless, no network (add your own)."""
    binary = qemu_binary() or QEMU
    drive = f"file={disk},if=virtio,format={disk_format}"
    if snapshot:
        drive += ",snapshot=on"
    return [
        binary,
        "-accel",
        accel,
        "-m",
        str(memory_mb),
        "-nodefaults",
        "-display",
        "none",
        "-serial",
        f"file:{serial_log}",
        "-qmp",
        f"unix:{qmp_socket},server=on,wait=off",
        "-drive",
        drive,
    ]


class Guest:
    """A QEMU process this code started."""

    def __init__(self, cmd: Sequence[str], serial_log: Path, qmp_socket: Path) -> None:
        self.cmd = list(cmd)
        self.serial_log = serial_log
        self.qmp_socket = qmp_socket
        self.started = time.monotonic()
        self._stderr = serial_log.with_name(serial_log.name + ".qemu-stderr")
        with open(self._stderr, "wb") as err:
            self.proc = subprocess.Popen(
                self.cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def __enter__(self) -> Guest:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()

    def running(self) -> bool:
        return self.proc.poll() is None

    def console(self) -> str:
        try:
            return self.serial_log.read_bytes().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def qemu_stderr(self) -> str:
        try:
            return self._stderr.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float) -> re.Match[str] | None:
        """The first match of ``pattern`` in the console; None on timeout or QEMU exit."""
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout
        while True:
            found = regex.search(self.console())
            if found:
                return found
            if not self.running() or time.monotonic() >= deadline:
                return None
            time.sleep(0.1)

    def qmp(self, command: str, arguments: dict[str, Any] | None = None) -> Any:
        """Run one QMP command on a fresh connection; its "return" value."""
        deadline = time.monotonic() + 5
        while not self.qmp_socket.exists() and time.monotonic() < deadline and self.running():
            time.sleep(0.05)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(self.qmp_socket))
            stream = sock.makefile("rw", encoding="utf-8")
            json.loads(stream.readline())  # greeting
            for execute, args in (("qmp_capabilities", None), (command, arguments)):
                msg: dict[str, Any] = {"execute": execute}
                if args:
                    msg["arguments"] = args
                stream.write(json.dumps(msg) + "\n")
                stream.flush()
                while True:
                    line = stream.readline()
                    if not line:
                        raise QemuError(f"QMP connection closed during {execute}")
                    reply = json.loads(line)
                    if "error" in reply:
                        raise QemuError(f"QMP {execute}: {reply['error']}")
                    if "return" in reply:
                        break
            return reply["return"]

    def wait_exit(self, timeout: float) -> bool:
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def powerdown(self, timeout: float = 30) -> bool:
        """ACPI power button (QMP ``system_powerdown``); True if QEMU exited in time."""
        if not self.running():
            return True
        try:
            self.qmp("system_powerdown")
        except (OSError, QemuError, ValueError):
            return False
        return self.wait_exit(timeout)

    def kill(self) -> None:
        """SIGKILL this QEMU (by its PID) if it still runs, and reap it."""
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
            pass

    def stop(self, timeout: float = 30) -> bool:
        """Power down cleanly, else kill; True when the guest shut itself down."""
        clean = self.powerdown(timeout)
        self.kill()
        return clean
