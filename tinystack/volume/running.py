"""What a backend's manager (``manager/backend.py``) and the backup service
(``backup/worker.py``) share as running things: an RPC server, a service row, a
heartbeat every ``report_interval``, a start-up recovery on its own thread (``recovered``
is set when it is over, whatever its outcome), a periodic pass over operations lost to
a broker or database fault (``[volume] lost_operation_age``), and the stop that ends
them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from tinystack.common.rpc import RPCServer
from tinystack.volume.services.deps import Deps

LOG = logging.getLogger(__name__)


class RunningWorker:
    """Subclasses say what a heartbeat reports (:meth:`report`) and what recovery does
    (:meth:`recover`), and call :meth:`start_threads` once their server runs."""

    #: how logs name it ("volume backend", "backup service")
    kind = "worker"

    def __init__(self, deps: Deps, name: str) -> None:
        self.deps = deps
        self.name = name
        self.server: RPCServer | None = None
        self.service_id: int | None = None
        self.stopping = threading.Event()
        #: set once the start-up recovery is over
        self.recovered = threading.Event()
        self.threads: list[threading.Thread] = []

    def report(self) -> None:
        """One heartbeat."""
        raise NotImplementedError

    def recover(self) -> dict[str, int]:
        """Replay or fail what a previous run left; counts by what was done."""
        raise NotImplementedError

    def resume_lost(self, older_than: float) -> int:
        """Take up the operations recorded over ``older_than`` seconds ago that nothing
        runs any more (lost to a broker or database fault); how many."""
        del older_than
        return 0

    def start_threads(self, prefix: str) -> None:
        """The heartbeat, the recovery and the lost operations' threads
        (``<prefix>-heartbeat``, ``-recovery``, ``-lost``)."""
        self._thread(f"{prefix}-heartbeat", self._beat)
        self._thread(f"{prefix}-recovery", self._recover)
        if int(self.deps.opts.lost_operation_age):
            self._thread(f"{prefix}-lost", self._resume)
        LOG.info("%s %s started", self.kind, self.name)

    def _thread(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _beat(self) -> None:
        while not self.stopping.wait(int(self.deps.opts.report_interval)):
            try:
                self.report()
            except Exception:
                LOG.exception("%s %s: heartbeat failed", self.kind, self.name)

    def _resume(self) -> None:
        """Every ``report_interval`` once the start-up recovery is over."""
        age = float(self.deps.opts.lost_operation_age)
        while not self.stopping.wait(int(self.deps.opts.report_interval)):
            if not self.recovered.is_set() or (self.server and self.server.queued):
                continue  # messages of its own still wait for a thread: none is lost yet
            try:
                self.resume_lost(age)
            except Exception:
                LOG.exception("%s %s: cannot take up lost operations", self.kind, self.name)

    def _recover(self) -> None:
        try:
            counts = self.recover()
        except Exception:
            LOG.exception("%s %s: recovery failed", self.kind, self.name)
            return
        finally:
            self.recovered.set()
        if any(counts.values()):
            LOG.info("%s %s recovered: %s", self.kind, self.name, counts)

    def stop(self) -> None:
        self.stopping.set()
        if self.server is not None:
            self.server.stop()
            self.server.wait()
        for thread in self.threads:
            thread.join(timeout=5)
