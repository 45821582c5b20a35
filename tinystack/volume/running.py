"""What a backend's manager (``manager/backend.py``) and the backup service
(``backup/worker.py``) share as running things: an RPC server, a service row, a
heartbeat every ``report_interval``, a start-up recovery on its own thread (``recovered``
is set when it is over, whatever its outcome), and the stop that ends them."""

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

    def start_threads(self, prefix: str) -> None:
        """The heartbeat and the recovery threads (``<prefix>-heartbeat``, ``-recovery``)."""
        self._thread(f"{prefix}-heartbeat", self._beat)
        self._thread(f"{prefix}-recovery", self._recover)
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
