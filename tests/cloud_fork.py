"""``tinystack up`` for the tests without paying its imports on every cloud.

Importing tinystack's services (FastAPI, SQLAlchemy, oslo, every router and policy
module) is most of what starting a test cloud costs here, and the suite starts a great
many clouds. As :mod:`tests.osc_fork` does for the ``openstack`` CLI, this module is
both ends of a small fork server:

* run as a script, it imports ``tinystack.cli`` and every tinystack module once, then
  for each ``spawn`` request forks a child that becomes the ``tinystack`` command: a new
  session, the request's environment and argv, stdout and stderr to the request's log
  file, then ``tinystack.cli.main()`` — what the console script calls. The child builds
  its cloud (configuration, keys, migrations, bootstrap, servers) from scratch like any
  ``tinystack up``; only the imports are shared. ``poll`` requests reap children.
* :func:`spawn` is the client :class:`tests.cloudproc.CloudProcess` calls; it returns a
  :class:`Forked` with the part of :class:`subprocess.Popen` the tests use, or None when
  the server cannot start (``TINYSTACK_TEST_CLOUD_FORK=0`` forces a fresh process).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
#: modules a cloud imports lazily (when its apps are built and served)
LAZY = (
    "alembic",
    "alembic.runtime.migration",
    "anyio.to_thread",
    "httpx",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.lifespan.off",
    "uvloop",
)


# -- server ------------------------------------------------------------------------------


def _warm() -> None:
    """Import every tinystack module (and what they import lazily) into this process."""
    import importlib
    import pkgutil

    import tinystack
    from tinystack import cli  # noqa: F401

    for info in pkgutil.walk_packages(tinystack.__path__, "tinystack."):
        try:
            importlib.import_module(info.name)
        except Exception:  # an optional backend's module: the child imports it if used
            continue
    for name in LAZY:
        try:
            importlib.import_module(name)
        except ImportError:
            continue


def _child(argv: list[str], env: dict[str, str], out: str, err: str) -> None:
    """In the forked child: become the ``tinystack`` process and exit with its status."""
    code = 1
    try:
        os.setsid()
        # what a fresh interpreter starts with
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        for fd, path in ((1, out), (2, err)):
            opened = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.dup2(opened, fd)
            os.close(opened)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = [str(BIN / "tinystack"), *argv]
        from tinystack.cli import main

        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int | None):
                print(exc.code, file=sys.stderr)  # as the interpreter does on the way out
    except BaseException:  # report it; never return into the server loop
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code & 0xFF)


def _poll(pid: int) -> int | None:
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status) if done else None


def serve() -> None:
    """Answer one JSON request per stdin line with one JSON line on stdout."""
    replies = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    _warm()
    # a forked child inherits no thread but the one calling fork: refuse if imports
    # started any, rather than hand out clouds missing them
    os.write(replies, json.dumps({"ready": threading.active_count() == 1}).encode() + b"\n")
    for line in sys.stdin:
        request = json.loads(line)
        reply: dict[str, Any]
        if request["op"] == "spawn":
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                os.close(replies)
                _child(request["argv"], request["env"], request["out"], request["err"])
            reply = {"pid": pid}
        else:
            reply = {"rc": _poll(int(request["pid"]))}
        os.write(replies, json.dumps(reply).encode() + b"\n")


# -- client ------------------------------------------------------------------------------


if __name__ != "__main__":  # run as a script, this file is the server: no client there
    from tests.fork_client import ForkClient, ServerDied

    _CLIENT = ForkClient(__file__, "TINYSTACK_TEST_CLOUD_FORK")


def _call(request: dict[str, Any], env: dict[str, str]) -> dict[str, Any] | None:
    """One request's reply; None when there is no server (or it died)."""
    try:
        return _CLIENT.call(request, env)
    except ServerDied:
        return None


class Forked:
    """A ``tinystack`` process forked by the server: what CloudProcess uses of Popen."""

    def __init__(self, pid: int, env: dict[str, str]) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._env = env

    def poll(self) -> int | None:
        if self.returncode is None:
            reply = _call({"op": "poll", "pid": self.pid}, self._env)
            if reply is None:  # the server is gone, and with it the child's status
                raise RuntimeError(f"cloud fork server died; process {self.pid} unknown")
            self.returncode = reply["rc"]
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.005
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(["tinystack"], timeout or 0)
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return code

    def send_signal(self, sig: int) -> None:
        # the server reaps the child only when polled: until then its pid stays ours
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def spawn(
    argv: list[str], env: dict[str, str], out: Path, err: Path | None = None
) -> Forked | None:
    """``tinystack *argv`` with ``env`` in a new session, stdout appended to ``out`` and
    stderr to ``err`` (default: ``out`` too)."""
    request = {"op": "spawn", "argv": argv, "env": env, "out": str(out), "err": str(err or out)}
    reply = _call(request, env)
    return None if reply is None else Forked(int(reply["pid"]), env)


def run(
    argv: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``tinystack *argv`` with ``env``; as :func:`subprocess.run` with capture_output and
    text (the console script when there is no fork server)."""
    command = [str(BIN / "tinystack"), *argv]
    with tempfile.TemporaryDirectory(prefix="tinystack-run-") as tmp:
        out, err = Path(tmp, "out"), Path(tmp, "err")
        proc = spawn(argv, env, out, err)
        if proc is None:
            return subprocess.run(
                command, capture_output=True, text=True, env=env, timeout=timeout, check=False
            )
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        return subprocess.CompletedProcess(
            command, code, out.read_text(errors="replace"), err.read_text(errors="replace")
        )


if __name__ == "__main__":
    sys.path[0] = str(BIN)  # as for the console script: not this file's directory
    serve()
