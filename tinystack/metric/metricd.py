"""The metric workers (Gnocchi's metricd), run in the metric service's process with its
database, as the alarm service runs Aodh's evaluator.

``[metric] workers`` threads each loop: the metrics with queued measures (the longest
waiting first; a thread takes those whose id hashes to it, so the threads of one process
never race for a metric), each processed by ``measures.process`` without waiting for a
metric another process's worker holds. When nothing is queued a thread sleeps
``[metric] processing_delay`` seconds, or until this process's API queues measures.
The first thread writes the process's heartbeat (``/v1/status``'s ``metricd``).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
import zlib

from tinystack.metric.services import backlog, measures, status
from tinystack.metric.services.deps import Deps

LOG = logging.getLogger(__name__)


class Metricd:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.count = deps.opts.workers
        #: the processor's name as Gnocchi's metricd members are named: host, pid, uuid
        self.name = f"{socket.gethostname()}.{os.getpid()}.{uuid.uuid4()}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.count):
            thread = threading.Thread(
                target=self._run, args=(index,), name=f"metricd-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self.deps.wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        if self._threads:
            try:
                status.leave(self.deps, self.name)
            except Exception:  # the database may be gone first at shutdown
                LOG.warning("metricd %s could not unregister", self.name, exc_info=True)
        self._threads = []

    def _run(self, index: int) -> None:
        beat = 0.0
        while not self._stop.is_set():
            try:
                if index == 0 and beat <= 0:
                    status.heartbeat(self.deps, self.name)
                    beat = status.HEARTBEAT
                done = self.process_pending(index)
            except Exception:  # a bad pass must not end the worker
                LOG.exception("metricd pass failed")
                done = 0
            if done:
                continue
            delay = self.deps.opts.processing_delay
            if self.deps.wake.wait(delay):
                self.deps.wake.clear()
            beat -= delay  # at most: woken earlier, the heartbeat only comes sooner

    def process_pending(self, index: int = 0) -> int:
        """One pass over the metrics with queued measures this thread takes; how many
        measures it aggregated."""
        done = 0
        for metric_id in backlog.pending(self.deps):
            if self._stop.is_set():
                break
            if self.count > 1 and zlib.crc32(metric_id.encode()) % self.count != index:
                continue
            try:
                done += measures.process(self.deps, metric_id, wait=False)
            except Exception:
                LOG.exception("processing the measures of metric %s failed", metric_id)
        return done
