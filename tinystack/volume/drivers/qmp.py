"""A small QMP client for ``qemu-storage-daemon``: one short connection per use.

Services do not import each other, so compute's QMP client is not reachable from here;
this one is smaller because the daemon needs only commands and the wait for a block
job's end. A QMP monitor serves one client at a time: callers hold the daemon's lock
while a session is open.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from tinystack.volume.drivers.errors import BackendError


class QMPError(BackendError):
    """QMP answered with an error, or could not be reached."""

    def __init__(self, message: str, error_class: str = "") -> None:
        super().__init__(message)
        self.error_class = error_class


class QMP:
    """One QMP session; use as a context manager."""

    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._buf = b""
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> QMP:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
        except OSError as exc:
            sock.close()
            raise QMPError(f"cannot connect to {self.path}: {exc}", "Closed") from exc
        self._sock = sock
        try:
            greeting = self._read(time.monotonic() + self.timeout)
            if "QMP" not in greeting:
                raise QMPError(f"unexpected QMP greeting: {greeting!r}")
            self.command("qmp_capabilities")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _read(self, deadline: float) -> dict[str, Any]:
        if self._sock is None:
            raise QMPError("QMP is not connected", "Closed")
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
                raise QMPError(f"QMP connection failed: {exc}", "Closed") from exc
            if not chunk:
                raise QMPError("QMP connection closed", "Closed")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message

    def command(self, name: str, arguments: dict[str, Any] | None = None) -> Any:
        """Run one command; its ``return`` value. Events seen meanwhile are kept."""
        if self._sock is None:
            raise QMPError("QMP is not connected", "Closed")
        msg: dict[str, Any] = {"execute": name}
        if arguments:
            msg["arguments"] = arguments
        try:
            self._sock.sendall(json.dumps(msg).encode() + b"\n")
        except OSError as exc:
            raise QMPError(f"QMP connection failed: {exc}", "Closed") from exc
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read(deadline)
            if "event" in reply:
                self.events.append(reply)
            elif "error" in reply:
                err = reply["error"]
                raise QMPError(f"{name}: {err.get('desc', err)}", str(err.get("class", "")))
            elif "return" in reply:
                return reply["return"]

    def wait_event(self, name: str, key: str, value: str, timeout: float) -> dict[str, Any]:
        """The first event ``name`` whose ``data[key]`` is ``value`` (seen ones count)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get("event") == name and event.get("data", {}).get(key) == value:
                    del self.events[i]
                    return event
            self.events.append(self._read(deadline))
