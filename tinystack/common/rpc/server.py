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
        try:
            executor.submit(self.dispatcher.handle, message)
        except RuntimeError:  # executor shut down concurrently
            LOG.warning("RPC server %s stopped: dropping %s", self.target.topic, message.method)

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
