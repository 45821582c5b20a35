"""The client half of the tests' fork servers (:mod:`tests.cloud_fork`, :mod:`tests.osc_fork`).

A server is its module run as a script: it imports what is slow to import once, writes
``{"ready": true}`` on stdout, then answers one JSON line on stdin with one JSON line on
stdout. :class:`ForkClient` starts it on first use, sends one request at a time and
remembers when it cannot start or died, so that the callers fall back to a fresh process.
The server halves do not import this module (run as scripts, the repository is not on
their ``sys.path``).
"""

from __future__ import annotations

import atexit
import json
import os
import subprocess
import sys
import threading
from typing import Any


class ServerDied(Exception):
    """The server died during a request (later requests find no server)."""


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()


class ForkClient:
    def __init__(self, script: str, disable_variable: str) -> None:
        """``script``: the server's file; ``disable_variable=0`` in the environment: no
        server (every caller falls back)."""
        self._script = script
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[str] | None = None
        self._broken = os.environ.get(disable_variable) == "0"

    def _start(self, env: dict[str, str] | None) -> subprocess.Popen[str] | None:
        if self._broken:
            return None
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        proc = subprocess.Popen(
            [sys.executable, self._script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env=env,
        )
        assert proc.stdout is not None
        if json.loads(proc.stdout.readline() or "{}").get("ready"):
            self._proc = proc
            atexit.register(_stop, proc)
            return proc
        _stop(proc)
        self._broken = True
        return None

    def call(
        self, request: dict[str, Any], env: dict[str, str] | None = None
    ) -> dict[str, Any] | None:
        """The server's reply to ``request``; None when there is no server. ``env``: the
        server's environment if this call starts it (None: this process's)."""
        with self._lock:
            proc = self._start(env)
            if proc is None:
                return None
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(json.dumps(request) + "\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
            except OSError:
                line = ""
            if line:
                reply: dict[str, Any] = json.loads(line)
                return reply
            proc.kill()
            self._broken = True
            raise ServerDied(f"the fork server {self._script} died during a request")
