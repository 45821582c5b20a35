"""kombu plumbing of the RabbitMQ transport: connection settings, retry backoff and
the consumer thread that survives connection loss."""

from __future__ import annotations

import logging
import random
import socket
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import kombu
from kombu.message import Message

LOG = logging.getLogger(__name__)

OnMessage = Callable[[Any, Message], None]
DeclareQueues = Callable[[], list[kombu.Queue]]


@dataclass(frozen=True)
class BrokerParams:
    """Where and how to connect; built from a ``rabbit://`` or ``amqp://`` URL."""

    hostname: str = "localhost"
    port: int = 5672
    userid: str = "guest"
    password: str = field(default="guest", repr=False)
    virtual_host: str = "/"
    connect_timeout: float = 5.0

    @classmethod
    def from_url(cls, url: str, connect_timeout: float = 5.0) -> BrokerParams:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() not in ("rabbit", "amqp"):
            raise ValueError("RabbitMQ transport URL must start with rabbit:// or amqp://")
        path = urllib.parse.unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        return cls(
            hostname=parts.hostname or "localhost",
            port=parts.port or 5672,
            userid=urllib.parse.unquote(parts.username or "guest"),
            password=urllib.parse.unquote(parts.password or "guest"),
            virtual_host=path,
            connect_timeout=connect_timeout,
        )

    def connection(self, heartbeat: float = 0, confirm_publish: bool = False) -> kombu.Connection:
        """A new, not yet connected, kombu connection."""
        return kombu.Connection(
            hostname=self.hostname,
            port=self.port,
            userid=self.userid,
            password=self.password,
            virtual_host=self.virtual_host,
            transport="pyamqp",
            connect_timeout=self.connect_timeout,
            heartbeat=heartbeat,
            transport_options={"confirm_publish": confirm_publish},
        )


class Backoff:
    """Exponential delays with jitter: start, 2*start, ... up to maximum."""

    def __init__(self, start: float = 0.1, maximum: float = 2.0) -> None:
        self.start = start
        self.maximum = maximum
        self._next = start

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.maximum)
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self._next = self.start


class ConnectionRegistry:
    """Live connections of a transport, so tests can cut them (see ``cut_all``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._conns: set[kombu.Connection] = set()

    def add(self, conn: kombu.Connection) -> None:
        with self._lock:
            self._conns.add(conn)

    def discard(self, conn: kombu.Connection) -> None:
        with self._lock:
            self._conns.discard(conn)

    def cut_all(self) -> int:
        """Shut down the sockets of all live connections, as a network failure would."""
        with self._lock:
            conns = list(self._conns)
        cut = 0
        for conn in conns:
            amqp_conn = conn._connection  # not .connection: that one reconnects
            sock = getattr(amqp_conn, "sock", None) if amqp_conn is not None else None
            if sock is None:
                continue
            try:
                sock.shutdown(socket.SHUT_RDWR)
                cut += 1
            except OSError:
                pass
        return cut


def connect(conn: kombu.Connection) -> None:
    """Connect once, raising at the first failure (``conn.connect()`` sleeps 2s, then retries)."""
    conn.ensure_connection(max_retries=0, reraise_as_library_errors=False)


def recoverable_errors(params: BrokerParams) -> tuple[type[BaseException], ...]:
    """Errors after which a connection must be dropped and re-established."""
    conn = params.connection()  # no I/O: only the transport class is looked at
    return tuple(conn.connection_errors) + tuple(conn.channel_errors) + (OSError,)


class ConsumerThread(threading.Thread):
    """Consumes some queues on a connection of its own, reconnecting forever.

    ``declare`` builds the queues (it is called again after every reconnection, so
    exclusive queues get fresh names). Messages are acknowledged on receipt and
    passed to ``on_message`` on this thread, which must return quickly.
    """

    def __init__(
        self,
        name: str,
        params: BrokerParams,
        registry: ConnectionRegistry,
        declare: DeclareQueues,
        on_message: OnMessage,
        heartbeat: float = 30.0,
        poll_interval: float = 0.2,
        max_retry_interval: float = 2.0,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.params = params
        self.registry = registry
        self.declare = declare
        self.on_message = on_message
        self.heartbeat = heartbeat
        self.poll_interval = poll_interval
        self.ready = threading.Event()  # consuming now
        self.declared = threading.Event()  # queues declared at least once
        self._stopping = threading.Event()
        self._errors = recoverable_errors(params)
        self._backoff = Backoff(maximum=max_retry_interval)

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
            if self.is_alive():
                LOG.warning("RPC consumer %s did not stop within %ss", self.name, timeout)

    def run(self) -> None:
        while not self._stopping.is_set():
            conn = self.params.connection(heartbeat=self.heartbeat)
            clean = False
            try:
                connect(conn)
                self.registry.add(conn)
                self._consume(conn)
                clean = True
            except self._errors as exc:
                self.ready.clear()
                delay = self._backoff.next()
                LOG.warning("RPC consumer %s: %s; reconnecting in %.1fs", self.name, exc, delay)
                self._stopping.wait(delay)
            except Exception:
                self.ready.clear()
                LOG.exception("RPC consumer %s failed; reconnecting", self.name)
                self._stopping.wait(self._backoff.next())
            finally:
                self.registry.discard(conn)
                self._close(conn, clean)
        self.ready.clear()

    def _consume(self, conn: kombu.Connection) -> None:
        channel = conn.channel()
        consumer = kombu.Consumer(
            channel,
            queues=self.declare(),
            callbacks=[self._receive],
            accept=["json"],
            on_decode_error=self._decode_error,
        )
        consumer.consume()
        self.ready.set()
        self.declared.set()
        self._backoff.reset()
        while not self._stopping.is_set():
            try:
                conn.drain_events(timeout=self.poll_interval)
            except TimeoutError:
                pass
            conn.heartbeat_check()
        try:
            consumer.cancel()
        except self._errors:
            pass

    def _receive(self, body: Any, message: Message) -> None:
        message.ack()
        try:
            self.on_message(body, message)
        except Exception:
            LOG.exception("RPC consumer %s: cannot handle a message", self.name)

    def _decode_error(self, message: Message, exc: Exception) -> None:
        LOG.warning("RPC consumer %s: dropping undecodable message: %s", self.name, exc)
        message.ack()

    def _close(self, conn: kombu.Connection, clean: bool) -> None:
        try:
            if clean:
                conn.release()
            else:
                conn.collect()  # drop without talking to a broker that may be gone
        except Exception:
            LOG.debug("RPC consumer %s: error closing connection", self.name, exc_info=True)
