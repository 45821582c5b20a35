"""RPC server: consumes a target's messages and runs them on a thread pool."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from types import TracebackType

from .dispatcher import Dispatcher
from .target import Target
from .transport import IncomingMessage, Listener, Transport

LOG = logging.getLogger(__name__)


class Handoff:
    """Hands messages to a thread pool, counting those that wait for a free thread (a
    periodic pass that takes up lost work runs only when none does: nothing of its own
    is still on the way)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued = 0

    @property
    def queued(self) -> int:
        return self._queued

    def submit(
        self, executor: ThreadPoolExecutor, dispatcher: Dispatcher, message: IncomingMessage
    ) -> bool:
        """Queue ``message`` for ``dispatcher``; False if ``executor`` is shut down."""
        with self._lock:
            self._queued += 1
        try:
            executor.submit(self._handle, dispatcher, message)
        except RuntimeError:
            with self._lock:
                self._queued -= 1
            return False
        return True

    def _handle(self, dispatcher: Dispatcher, message: IncomingMessage) -> None:
        with self._lock:
            self._queued -= 1
        dispatcher.handle(message)


class RPCServer:
    """Serve ``endpoints`` for ``target`` (its topic, and its server name).

    ``target.server`` defaults to the host name. Messages are dispatched on a pool
    of ``executor_threads`` worker threads, never on the transport's own threads.

    Life cycle: :meth:`start`, then :meth:`stop` (no new messages are taken) and
    :meth:`wait` (in-flight messages finish, worker threads exit). The server is
    also a context manager doing exactly that.
    """

    def __init__(
        self,
        transport: Transport,
        target: Target,
        endpoints: Sequence[object],
        executor_threads: int = 8,
    ) -> None:
        if not target.topic:
            raise ValueError("an RPC server target needs a topic")
        if target.fanout:
            raise ValueError("an RPC server target cannot be fanout")
        if executor_threads < 1:
            raise ValueError("executor_threads must be at least 1")
        if target.server is None:
            target = replace(target, server=socket.gethostname())
        self.transport = transport
        self.target = target
        self.dispatcher = Dispatcher(endpoints)
        self.executor_threads = executor_threads
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._listener: Listener | None = None
        self._running = False
        self._handoff = Handoff()

    @property
    def running(self) -> bool:
        return self._running

    def start(self) -> None:
        """Start consuming; returns once messages sent from now on will be received."""
        with self._lock:
            if self._running:
                return
            if self._executor is not None:
                raise RuntimeError("RPC server stopped: call wait() before restarting it")
            self._executor = ThreadPoolExecutor(
                max_workers=self.executor_threads,
                thread_name_prefix=f"rpc-{self.target.topic}.{self.target.server}",
            )
            try:
                self._listener = self.transport.listen(self.target, self._on_message)
            except BaseException:
                self._executor.shutdown(wait=False)
                self._executor = None
                raise
            self._running = True

    def stop(self) -> None:
        """Stop taking messages; messages already taken still run (see :meth:`wait`)."""
        with self._lock:
            listener, self._listener = self._listener, None
            self._running = False
        if listener is not None:
            listener.stop()

    def wait(self) -> None:
        """Wait for in-flight messages after :meth:`stop` and release the worker threads."""
        with self._lock:
            if self._running:
                raise RuntimeError("RPC server still running: call stop() first")
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def _on_message(self, message: IncomingMessage) -> None:
        executor = self._executor
        if executor is None:
            LOG.warning("RPC server %s stopped: dropping %s", self.target.topic, message.method)
            return
        if not self._handoff.submit(executor, self.dispatcher, message):
            # the executor was shut down concurrently
            LOG.warning("RPC server %s stopped: dropping %s", self.target.topic, message.method)

    @property
    def queued(self) -> int:
        """Messages taken that wait for a free thread (see :class:`Handoff`)."""
        return self._handoff.queued

    def __enter__(self) -> RPCServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self.wait()
