"""The suite's watchdog: a hang fails one test and says where, never the whole run.

CI kills a run that outlasts its budget and keeps only the tail of what it printed, so a
hung test used to cost every result. Three guards, all from environment variables that
``make test`` sets:

- ``TINYSTACK_TEST_TIMEOUT`` (seconds, per test, fixtures included): past it, the worker
  prints every thread's stack and interrupts the test (``TestTimeout`` raised in its main
  thread, so teardown runs); if the test is still running a grace period (90 s at most)
  later (stuck in
  a C call that never returns to Python), the worker prints the stacks again and exits,
  and xdist reports the test as crashed and starts a new worker.
- ``TINYSTACK_SUITE_DEADLINE`` (seconds, whole run): past it, the controller prints the
  tests still running and interrupts the run, so pytest still prints its summary.
- every failure is printed the moment it is reported (``FAILED <test>``), not only in the
  summary at the end.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
import threading
import time
from collections.abc import Generator
from typing import Any

import pytest

GRACE = 90.0


class TestTimeout(Exception):
    """Raised in a worker's main thread when its test outlives TINYSTACK_TEST_TIMEOUT."""

    __test__ = False


def _seconds(name: str) -> float:
    value = os.environ.get(name, "")
    return float(value) if value else 0.0


def _interrupt(signum: int, frame: Any) -> None:
    limit = _seconds("TINYSTACK_TEST_TIMEOUT")
    raise TestTimeout(f"test outlived TINYSTACK_TEST_TIMEOUT={limit:.0f}s")


class _TestTimer:
    """Interrupts the main thread's current test at its deadline; exits the process if
    the interrupt does not take within GRACE seconds."""

    def __init__(self, config: pytest.Config, nodeid: str, limit: float) -> None:
        self.config = config
        self.nodeid = nodeid
        self.limit = limit
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="test-watchdog", daemon=True)

    def _watch(self) -> None:
        if self.done.wait(self.limit):
            return
        self._dump(f"{self.nodeid} still running after {self.limit:.0f}s: interrupting")
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR2)
        grace = min(GRACE, self.limit)
        if self.done.wait(grace):
            return
        self._dump(f"{self.nodeid} ignored the interrupt for {grace:.0f}s: exiting the worker")
        os._exit(3)

    def _dump(self, message: str) -> None:
        """The stacks on the run's own stderr, past the test's output capture (an exiting
        worker's captured output is lost)."""
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            sys.stderr.write(f"\n[watchdog pid {os.getpid()}] {message}\n")
            sys.stderr.flush()
            faulthandler.dump_traceback(file=sys.stderr, all_threads=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    limit = _seconds("TINYSTACK_TEST_TIMEOUT")
    if not limit or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGUSR2, _interrupt)
    timer = _TestTimer(item.config, item.nodeid, limit)
    timer.thread.start()
    try:
        yield
    finally:
        timer.done.set()
        signal.signal(signal.SIGUSR2, previous)


class _Controller:
    """The run's side (the xdist controller, or the only process): live failure lines,
    tests in progress, the suite deadline."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.running: dict[str, float] = {}
        self.lock = threading.Lock()

    def write(self, text: str) -> None:
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            if reporter is not None:
                reporter.write_line(text)
            else:
                sys.stdout.write(text + "\n")

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        with self.lock:
            self.running[nodeid] = time.monotonic()

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        with self.lock:
            self.running.pop(nodeid, None)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.write(f"\nFAILED {report.nodeid} ({report.when}, {report.duration:.0f}s)")

    def expire(self, deadline: float) -> None:
        with self.lock:
            now = time.monotonic()
            running = sorted(self.running.items(), key=lambda pair: pair[1])
        self.write(f"\nTINYSTACK_SUITE_DEADLINE={deadline:.0f}s passed; still running:")
        for nodeid, started in running:
            self.write(f"  {nodeid} ({now - started:.0f}s)")
        # A real SIGINT (not _thread.interrupt_main) also wakes a main thread that sleeps.
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: the controller reports
        return
    controller = _Controller(config)
    config.pluginmanager.register(controller, "tinystack-watchdog")
    deadline = _seconds("TINYSTACK_SUITE_DEADLINE")
    if deadline:
        timer = threading.Timer(deadline, controller.expire, args=(deadline,))
        timer.daemon = True
        timer.start()
