"""One chaos round: a mixed workload, a fault at a random moment, the recovery, then
the invariants (nothing unstable, nothing leaked, no 5xx), everything deleted, and the
invariants again with nothing of the workload left."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from tests import invariants
from tests.chaos.workload import Workload

#: seconds a round waits for its burst's share of accepted boots before the fault
BURST_WAIT = 90


def crash_round(
    workload: Workload,
    fault: Callable[[], object],
    recover: Callable[[], object],
    cloud: Callable[[], invariants.Cloud],
    window: tuple[float, float] = (1.5, 4.0),
    threads: int = 6,
    during: Callable[[], object] | None = None,
    burst: int = 0,
    settle: float = 30,
) -> invariants.Report:
    """Run the workload (and a burst of ``burst`` boots at once), call ``fault`` after a
    random delay within ``window`` — with a burst, once a random share of it (20-80 %)
    was accepted, so the fault lands among builds under way — (then ``during``, with the
    workload still running, if given), stop the workload, ``recover``, settle and check
    (each check waits up to ``settle`` seconds for a clean report).
    Returns the last report (after the clean-up); every check asserts."""
    clock = Clock()
    rng = random.Random(workload.seed)
    stop = threading.Event()
    workers = workload.run(stop, threads)
    workers += workload.burst(burst) if burst else []
    time.sleep(rng.uniform(*window))
    wanted, deadline = rng.randint(burst // 5, burst * 4 // 5), time.monotonic() + BURST_WAIT
    while workload.boots < wanted and time.monotonic() < deadline:
        time.sleep(0.05)
    clock.lap(f"workload ({workload.boots} boots accepted, {workload.peak_boots} at once)")
    fault()
    if during is not None:
        during()
    stop.set()
    for worker in workers:
        worker.join(120)
    clock.lap("fault")
    recover()
    clock.lap("recovery")
    workload.session.login()
    workload.settle()
    clock.lap("settled")
    report = eventually(lambda: invariants.check(cloud(), workload.gone()), settle)
    clock.lap("checked")
    assert workload.requests > 0
    workload.cleanup()
    clock.lap("deleted everything")
    after = eventually(lambda: invariants.check(cloud(), workload.gone()), settle)
    clock.lap("checked again")
    print(f"chaos round (seed {workload.seed}): {clock}")
    left = {k: after.checked.get(k, 0) for k in ("allocation consumers", "image files",
                                                 "volume files", "object files")}  # fmt: skip
    assert not any(left.values()), f"left after deleting everything: {left}"
    return report


class Clock:
    """Seconds each phase of a round took (printed: pytest shows it on a failure)."""

    def __init__(self) -> None:
        self.last = time.monotonic()
        self.laps: list[str] = []

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.laps.append(f"{name} {now - self.last:.1f}s")
        self.last = now

    def __str__(self) -> str:
        return ", ".join(self.laps)


def eventually(check: Callable[[], invariants.Report], timeout: float = 30) -> invariants.Report:
    """The first clean report within ``timeout`` (the object store's container updates
    and account reports are asynchronous, as Swift's); asserts the last one otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        report = check()
        if not report.leaks or time.monotonic() > deadline:
            report.assert_clean()
            return report
        time.sleep(1)
