"""The loop of every node daemon (auditor, expirer, updater, account reporter,
replicators): a daemon thread that does one pass every ``interval`` seconds until its
``stopping`` event is set; a failed pass is logged and the next one runs as usual."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

LOG = logging.getLogger(__name__)


def run_every(
    interval: float,
    stopping: threading.Event,
    one_pass: Callable[[], object],
    name: str,
    failure: str,
) -> threading.Thread:
    """Start the thread ``name`` calling ``one_pass`` every ``interval`` s; ``failure``
    is the log message of a pass that raised."""

    def run() -> None:
        while not stopping.wait(interval):
            try:
                one_pass()
            except Exception:
                LOG.exception(failure)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
