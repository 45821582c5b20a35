"""The real ``openstack`` CLI without paying its start-up on every command.

Importing python-openstackclient and its plugins takes 1-2 s of the ~2 s an
``openstack`` command costs here, and the suite runs hundreds of them. This module is
both ends of a small fork server:

* run as a script, it imports the CLI once (the shell, every ``openstack.*`` command
  plugin and keystoneauth's auth plugins), then for each request forks a child that
  runs ``openstackclient.shell.main(argv)`` — the function the ``openstack`` console
  script calls — with the request's environment, stdout and stderr going to files, and
  reports its exit status. Each command is its own process with fresh client state;
  only the imports are shared.
* :func:`run` is the client the tests call; it starts the server on first use and
  falls back to the console script when the server cannot start
  (``TINYSTACK_TEST_OSC_FORK=0`` forces the console script).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


# -- server ------------------------------------------------------------------------------


def _warm() -> None:
    """Import what commands load lazily, so children find it in memory."""
    from importlib.metadata import entry_points

    from openstackclient import shell

    for group in entry_points().groups:
        if not (group.startswith("openstack.") or group.startswith("keystoneauth1.")):
            continue
        for ep in entry_points(group=group):
            try:
                ep.load()
            except Exception:  # a broken plugin only fails its own command
                continue
    shell.OpenStackShell()  # fills stevedore's in-memory entry-point cache


def _child(argv: list[str], env: dict[str, str], out: int, err: int) -> None:
    """In the forked child: become the ``openstack`` process and exit with its status."""
    code = 1
    try:
        os.setpgid(0, 0)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        os.environ.clear()
        os.environ.update(env)
        sys.argv = [str(BIN / "openstack"), *argv]
        from openstackclient.shell import main

        try:
            code = int(main(argv) or 0)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # report it; never return into the server loop
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code & 0xFF)


def _wait(pid: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return -int(signal.SIGKILL)
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def serve() -> None:
    """Answer one JSON request per stdin line with one JSON line on stdout."""
    replies = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    sys.argv = [str(BIN / "openstack")]  # cliff names the program at import time
    _warm()
    os.write(replies, b'{"ready": true}\n')
    for line in sys.stdin:
        request = json.loads(line)
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                os.close(replies)
                _child(request["argv"], request["env"], out.fileno(), err.fileno())
            code = _wait(pid, float(request["timeout"]))
            out.seek(0)
            err.seek(0)
            reply = {
                "rc": code,
                "stdout": out.read().decode(errors="replace"),
                "stderr": err.read().decode(errors="replace"),
            }
        os.write(replies, json.dumps(reply).encode() + b"\n")


# -- client ------------------------------------------------------------------------------


if __name__ != "__main__":  # run as a script, this file is the server: no client there
    from tests.fork_client import ForkClient, ServerDied

    _CLIENT = ForkClient(__file__, "TINYSTACK_TEST_OSC_FORK")


def _run(argv: list[str], env: dict[str, str], timeout: float) -> tuple[int, str, str]:
    request = {"argv": argv, "env": env, "timeout": timeout}
    try:
        reply = _CLIENT.call(request)
    except ServerDied:  # later commands run the console script
        return 255, "", "the openstack CLI fork server died during this command"
    if reply is not None:
        return int(reply["rc"]), str(reply["stdout"]), str(reply["stderr"])
    result = subprocess.run(
        [str(BIN / "openstack"), *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result.returncode, result.stdout, result.stderr


def run(
    argv: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``openstack *argv`` with ``env``; as :func:`subprocess.run` with capture_output."""
    code, out, err = _run(argv, env, timeout)
    return subprocess.CompletedProcess([str(BIN / "openstack"), *argv], code, out, err)


if __name__ == "__main__":
    serve()
