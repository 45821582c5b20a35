"""A small QMP client: one short-lived connection per use, no background threads.

Compute's QEMU driver and the volume service's ``qemu-storage-daemon`` both speak QMP
through it. Every QEMU compute's driver starts has two QMP monitors: ``qmp.sock`` for commands (each
call connects, negotiates, runs one or a few commands and disconnects, so nothing
stays open per guest) and ``qmp-events.sock``, held only by an operation that waits
for an event (a soft reboot waiting for ``RESET``, an unplug for ``DEVICE_DELETED``).
A QMP chardev serves one client at a time; keeping the waits on their own socket
means they never block the commands of the power-state sync.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any


class QMPError(Exception):
    """QMP answered with an error, or could not be reached."""

    def __init__(self, message: str, error_class: str = "") -> None:
        super().__init__(message)
        self.error_class = error_class


class QMP:
    """One QMP session; use as a context manager."""

    def __init__(self, path: Path | str, timeout: float = 5.0) -> None:
        self.path = str(path)
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = b""
        self.events: list[dict[str, Any]] = []

    # -- connection ----------------------------------------------------------------------------
    def connect(self) -> QMP:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            raise QMPError(f"cannot connect to {self.path}: {exc}") from exc
        self._sock = sock
        try:
            deadline = time.monotonic() + self.timeout
            greeting = self._read_message(deadline)
            # an event QEMU emits while it accepts the connection can come first
            while "event" in greeting and "QMP" not in greeting:
                greeting = self._read_message(deadline)
            if "QMP" not in greeting:
                raise QMPError(f"unexpected QMP greeting: {greeting!r}")
            self.command("qmp_capabilities")
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def __enter__(self) -> QMP:
        if self._sock is None:
            self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- messages ------------------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict[str, Any]:
        if self._sock is None:
            raise QMPError("QMP is not connected")
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise QMPError("timed out waiting for QMP", "Timeout")
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError as exc:
                raise QMPError("timed out waiting for QMP", "Timeout") from exc
            except OSError as exc:
                raise QMPError(f"QMP connection failed: {exc}") from exc
            if not chunk:
                raise QMPError("QMP connection closed", "Closed")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            message: dict[str, Any] = json.loads(line)
        except ValueError as exc:
            raise QMPError(f"bad QMP message: {line[:200]!r}") from exc
        return message

    def command(
        self, name: str, arguments: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        """Run one command; its ``return`` value. Events seen meanwhile are kept."""
        if self._sock is None:
            raise QMPError("QMP is not connected")
        msg: dict[str, Any] = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        try:
            self._sock.sendall(json.dumps(msg).encode() + b"\n")
        except OSError as exc:
            raise QMPError(f"QMP connection failed: {exc}") from exc
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read_message(deadline)
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                err = reply["error"]
                raise QMPError(f"{name}: {err.get('desc', err)}", str(err.get("class", "")))
            if "return" in reply:
                return reply["return"]

    def wait_event(
        self, names: set[str] | str, timeout: float, data: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """The next event among ``names`` (one already seen counts) whose ``data`` has the
        items of ``data``, or None on timeout."""
        wanted = {names} if isinstance(names, str) else set(names)

        def matches(event: dict[str, Any]) -> bool:
            if event.get("event") not in wanted:
                return False
            found = event.get("data") or {}
            return all(found.get(k) == v for k, v in (data or {}).items())

        for i, event in enumerate(self.events):
            if matches(event):
                del self.events[: i + 1]
                return event
        self.events.clear()
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self._read_message(deadline)
            except QMPError as exc:
                if exc.error_class == "Timeout":
                    return None
                if exc.error_class == "Closed":
                    return {"event": "QMP_CLOSED"} if "QMP_CLOSED" in wanted else None
                raise
            if matches(message):
                return message


def command(
    path: Path | str, name: str, arguments: dict[str, Any] | None = None, timeout: float = 5.0
) -> Any:
    """Connect, run one command, disconnect."""
    with QMP(path, timeout) as qmp:
        return qmp.command(name, arguments)
