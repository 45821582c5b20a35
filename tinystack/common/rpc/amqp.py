"""RabbitMQ transport (``rabbit://user:pass@host:port/vhost`` or ``amqp://...``).

Topology, for a control exchange ``E`` (a topic exchange) and a server ``S`` of
topic ``T``:

* queue ``T`` bound to ``E`` with key ``T``: shared by all servers of the topic,
  which RabbitMQ serves round-robin;
* queue ``T.S`` bound to ``E`` with key ``T.S``: requests for that server only;
* fanout exchange ``T_fanout`` and, per server, an exclusive auto-delete queue
  bound to it: fanout casts.

Queues ``T`` and ``T.S`` are not auto-delete, so requests sent while a server
reconnects wait for it; they expire after ``queue_ttl`` seconds without consumers.
Publishers of casts and calls declare them too, so a request sent after a broker
restart, before its server has declared its queues again, waits for it as well.

Calls carry ``correlation_id`` and ``reply_to``: the reply queue of the calling
transport, consumed by one thread that hands each reply to the waiting caller by
correlation id. That queue also survives reconnections (it is not exclusive; it
expires ``queue_ttl`` seconds after its consumer is gone and is deleted on close).

Notifications (``notify``) go to the control exchange with their topic as routing key
(``notifications.info``) into a queue of that name, declared on publish as
oslo.messaging does, so consumers that start later still read them; a listener pool
has its own queue bound the same way.

Each server and the reply waiter consume on a connection of their own and
reconnect with backoff, re-declaring their queues. Publishing goes through one
shared connection with publisher confirms; a failed publish reconnects and retries
until ``publish_timeout`` (or the call's timeout) runs out.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import kombu
from kombu.exceptions import EncodeError
from kombu.message import Message

from ._kombu import (
    Backoff,
    BrokerParams,
    ConnectionRegistry,
    ConsumerThread,
    DeclareQueues,
    OnMessage,
    connect,
    recoverable_errors,
)
from .exceptions import InvalidTarget, MessagingTimeout, RPCError, TransportError
from .target import Target
from .transport import (
    IncomingMessage,
    Listener,
    MessageHandler,
    NotificationHandler,
    Reply,
    Transport,
)

LOG = logging.getLogger(__name__)

#: messages a notification queue keeps for late consumers (the oldest are dropped)
NOTIFICATION_QUEUE_LENGTH = 10000


class _Publisher:
    """One connection shared by all publishing threads; reconnects on failure."""

    def __init__(self, params: BrokerParams, registry: ConnectionRegistry) -> None:
        self._params = params
        self._registry = registry
        self._errors = recoverable_errors(params)
        self._lock = threading.Lock()
        self._conn: kombu.Connection | None = None
        self._producer: kombu.Producer | None = None
        self._declared: set[str] = set()

    def _get_producer(self) -> kombu.Producer:
        if self._producer is None:
            conn = self._params.connection(confirm_publish=True)
            connect(conn)
            self._conn = conn
            self._registry.add(conn)
            self._producer = kombu.Producer(conn.channel())
        return self._producer

    def reset(self) -> None:
        conn, self._conn, self._producer = self._conn, None, None
        self._declared.clear()
        if conn is not None:
            self._registry.discard(conn)
            try:
                conn.collect()
            except Exception:
                LOG.debug("RPC publisher: error dropping connection", exc_info=True)

    def publish(
        self,
        body: dict[str, Any],
        exchange: kombu.Exchange | None,
        routing_key: str,
        deadline: float,
        declare: tuple[kombu.Queue, ...] = (),
        **properties: Any,
    ) -> None:
        """Publish (confirmed by the broker), retrying on connection errors until deadline."""
        backoff = Backoff()
        while True:
            with self._lock:
                try:
                    producer = self._get_producer()
                    if exchange is not None and exchange.name not in self._declared:
                        exchange.declare(channel=producer.channel)
                        self._declared.add(exchange.name)
                    for queue in declare:
                        if queue.name not in self._declared:
                            queue(producer.channel).declare()
                            self._declared.add(queue.name)
                    producer.publish(
                        body,
                        exchange=exchange.name if exchange is not None else "",
                        routing_key=routing_key,
                        serializer="json",
                        confirm_timeout=max(0.1, deadline - time.monotonic()),
                        **properties,
                    )
                    return
                except EncodeError as exc:
                    raise TypeError(f"RPC message is not JSON serializable: {exc}") from exc
                except self._errors as exc:
                    self.reset()
                    error = exc
            delay = backoff.next()
            if time.monotonic() + delay > deadline:
                raise TransportError(f"cannot publish to RabbitMQ: {error}") from error
            LOG.warning("RPC publish failed (%s); retrying in %.1fs", error, delay)
            time.sleep(delay)

    def delete_queue(self, name: str) -> None:
        with self._lock:
            try:
                self._get_producer().channel.queue_delete(name)
            except self._errors as exc:
                self.reset()
                LOG.debug("RPC publisher: cannot delete queue %s: %s", name, exc)

    def close(self) -> None:
        with self._lock:
            conn, self._conn, self._producer = self._conn, None, None
        if conn is not None:
            self._registry.discard(conn)
            try:
                conn.release()
            except Exception:
                LOG.debug("RPC publisher: error closing connection", exc_info=True)


class _Slot:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.value: dict[str, Any] = {}


class _ReplyWaiter:
    """Consumes the transport's reply queue and wakes the caller owning each reply."""

    def __init__(self, transport: RabbitTransport) -> None:
        self.queue_name = f"reply_{uuid.uuid4().hex}"
        self._ttl = transport.queue_ttl
        self._lock = threading.Lock()
        self._pending: dict[str, _Slot] = {}
        self.thread = transport._consumer_thread("rpc-reply", self._queues, self._on_reply)
        self.thread.start()

    def _queues(self) -> list[kombu.Queue]:
        # Default exchange: routed by queue name, no binding needed.
        return [kombu.Queue(self.queue_name, durable=False, auto_delete=False, expires=self._ttl)]

    def register(self, msg_id: str) -> _Slot:
        slot = _Slot()
        with self._lock:
            self._pending[msg_id] = slot
        return slot

    def unregister(self, msg_id: str) -> None:
        with self._lock:
            self._pending.pop(msg_id, None)

    def _on_reply(self, body: Any, message: Message) -> None:
        msg_id = message.properties.get("correlation_id")
        with self._lock:
            slot = self._pending.get(msg_id) if isinstance(msg_id, str) else None
        if slot is None:
            LOG.debug("RPC reply %s arrived after its caller gave up", msg_id)
            return
        if isinstance(body, dict):
            slot.value = body
        else:
            slot.value = {"failure": {"exc_type": "RPCError", "message": "malformed reply"}}
        slot.event.set()


class _ServerListener(Listener):
    def __init__(self, transport: RabbitTransport, thread: ConsumerThread) -> None:
        self._transport = transport
        self.thread = thread

    def stop(self) -> None:
        self.thread.stop(timeout=self._transport.stop_timeout)
        self._transport._forget(self)


class RabbitTransport(Transport):
    """AMQP 0-9-1 transport through kombu/py-amqp. See the module docstring."""

    def __init__(
        self,
        url: str,
        *,
        control_exchange: str = "tinystack",
        queue_ttl: float = 1800.0,
        publish_timeout: float = 30.0,
        connect_timeout: float = 5.0,
        heartbeat: float = 30.0,
        poll_interval: float = 0.2,
        max_retry_interval: float = 2.0,
        listen_timeout: float = 10.0,
    ) -> None:
        self.params = BrokerParams.from_url(url, connect_timeout=connect_timeout)
        self.control_exchange = control_exchange
        self.queue_ttl = queue_ttl
        self.publish_timeout = publish_timeout
        self.heartbeat = heartbeat
        self.poll_interval = poll_interval
        self.max_retry_interval = max_retry_interval
        self.listen_timeout = listen_timeout
        self.stop_timeout = poll_interval + connect_timeout + 5.0
        self._exchange = kombu.Exchange(control_exchange, "topic", durable=False)
        self._registry = ConnectionRegistry()
        self._publisher = _Publisher(self.params, self._registry)
        self._lock = threading.Lock()
        self._listeners: set[_ServerListener] = set()
        self._waiter: _ReplyWaiter | None = None
        self._closed = False

    def _consumer_thread(
        self, name: str, declare: DeclareQueues, on_message: OnMessage
    ) -> ConsumerThread:
        return ConsumerThread(
            name,
            self.params,
            self._registry,
            declare,
            on_message,
            heartbeat=self.heartbeat,
            poll_interval=self.poll_interval,
            max_retry_interval=self.max_retry_interval,
        )

    def _check_open(self) -> None:
        if self._closed:
            raise RPCError("RPC transport is closed")

    @staticmethod
    def _fanout_exchange(topic: str) -> kombu.Exchange:
        return kombu.Exchange(f"{topic}_fanout", "fanout", durable=False, auto_delete=True)

    @staticmethod
    def _routing_key(target: Target) -> str:
        return f"{target.topic}.{target.server}" if target.server else target.topic

    def _server_queue(self, key: str) -> kombu.Queue:
        """The queue the servers of routing key ``key`` consume. Publishers declare it
        too: after a broker restart a request may go out before its server has declared
        the queue again, and the exchange would drop it."""
        return kombu.Queue(key, self._exchange, routing_key=key, durable=False,
                           auto_delete=False, expires=self.queue_ttl)  # fmt: skip

    def cast(self, target: Target, message: dict[str, Any]) -> None:
        self._check_open()
        deadline = time.monotonic() + self.publish_timeout
        if target.fanout:
            exchange = self._fanout_exchange(target.topic)
            self._publisher.publish(message, exchange, "", deadline)
        else:
            key = self._routing_key(target)
            queues = (self._server_queue(key),)
            self._publisher.publish(message, self._exchange, key, deadline, queues)

    def call(
        self, target: Target, message: dict[str, Any], timeout: float | None
    ) -> dict[str, Any]:
        self._check_open()
        if target.fanout:
            raise InvalidTarget("a fanout target can only be cast to")
        start = time.monotonic()
        deadline = start + (timeout if timeout is not None else self.publish_timeout)
        waiter = self._reply_waiter()
        # consuming now, not only once: after a broker restart the reply queue is gone
        # until the waiter has reconnected, and a reply sent before that is dropped
        if not waiter.thread.ready.wait(max(0.0, deadline - time.monotonic())):
            raise MessagingTimeout(f"reply queue not ready within {timeout}s (broker down?)")
        msg_id = uuid.uuid4().hex
        slot = waiter.register(msg_id)
        try:
            properties: dict[str, Any] = {"correlation_id": msg_id, "reply_to": waiter.queue_name}
            if timeout is not None:
                properties["expiration"] = max(timeout, 0.001)  # drop if nobody took it in time
            key = self._routing_key(target)
            queues = (self._server_queue(key),)
            self._publisher.publish(message, self._exchange, key, deadline, queues, **properties)
            remaining = None if timeout is None else max(0.0, deadline - time.monotonic())
            if not slot.event.wait(remaining):
                raise MessagingTimeout(
                    f"timed out after {timeout}s waiting for {message.get('method')} on {key}"
                )
            return slot.value
        finally:
            waiter.unregister(msg_id)

    def _reply_waiter(self) -> _ReplyWaiter:
        with self._lock:
            self._check_open()
            if self._waiter is None:
                self._waiter = _ReplyWaiter(self)
            return self._waiter

    def listen(self, target: Target, handler: MessageHandler) -> Listener:
        self._check_open()
        if not target.server:
            raise InvalidTarget("an RPC server target needs a server name")
        topic, server = target.topic, target.server

        def declare() -> list[kombu.Queue]:
            fanout_queue = f"{topic}_fanout_{uuid.uuid4().hex}"
            return [
                self._server_queue(topic),
                self._server_queue(f"{topic}.{server}"),
                kombu.Queue(fanout_queue, self._fanout_exchange(topic), exclusive=True),
            ]

        def on_message(body: Any, message: Message) -> None:
            reply_to = message.properties.get("reply_to")
            msg_id = message.properties.get("correlation_id")
            reply = None
            if isinstance(reply_to, str) and isinstance(msg_id, str):
                reply = self._make_reply(reply_to, msg_id)
            try:
                incoming = IncomingMessage.from_body(body, reply)
            except ValueError as exc:
                LOG.warning("RPC server %s.%s: dropping malformed request: %s", topic, server, exc)
                return
            handler(incoming)

        thread = self._consumer_thread(f"rpc-{topic}.{server}", declare, on_message)
        listener = _ServerListener(self, thread)
        with self._lock:
            self._check_open()
            self._listeners.add(listener)
        thread.start()
        if not thread.declared.wait(self.listen_timeout):
            LOG.warning("RPC server %s.%s: broker unreachable, will keep trying", topic, server)
        return listener

    def _notification_queue(self, topic: str, pool: str | None = None) -> kombu.Queue:
        # oslo.messaging's layout: a queue named after the topic (or the pool), bound to
        # the control exchange with the topic as key; it never expires (a publisher does
        # not count as its user) but is bounded, so that a cloud nobody reads the
        # notifications of does not fill the broker.
        return kombu.Queue(
            pool or topic,
            self._exchange,
            routing_key=topic,
            durable=False,
            auto_delete=False,
            max_length=NOTIFICATION_QUEUE_LENGTH,
        )

    def notify(self, topic: str, body: dict[str, Any]) -> None:
        self._check_open()
        deadline = time.monotonic() + self.publish_timeout
        queue = self._notification_queue(topic)
        self._publisher.publish(body, self._exchange, topic, deadline, declare=(queue,))

    def listen_notifications(
        self, topic: str, handler: NotificationHandler, pool: str | None = None
    ) -> Listener:
        self._check_open()

        def declare() -> list[kombu.Queue]:
            return [self._notification_queue(topic, pool)]

        def on_message(body: Any, message: Message) -> None:
            if isinstance(body, dict):
                handler(body)
            else:
                LOG.warning("notification listener %s: dropping a non-object body", topic)

        thread = self._consumer_thread(f"notify-{pool or topic}", declare, on_message)
        listener = _ServerListener(self, thread)
        with self._lock:
            self._check_open()
            self._listeners.add(listener)
        thread.start()
        if not thread.declared.wait(self.listen_timeout):
            LOG.warning("notification listener %s: broker unreachable, will keep trying", topic)
        return listener

    def _make_reply(self, reply_to: str, msg_id: str) -> Reply:
        def reply(payload: dict[str, Any]) -> None:
            deadline = time.monotonic() + self.publish_timeout
            self._publisher.publish(payload, None, reply_to, deadline, correlation_id=msg_id)

        return reply

    def _forget(self, listener: _ServerListener) -> None:
        with self._lock:
            self._listeners.discard(listener)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            listeners, self._listeners = list(self._listeners), set()
            waiter, self._waiter = self._waiter, None
        for listener in listeners:
            listener.thread.stop(timeout=self.stop_timeout)
        if waiter is not None:
            waiter.thread.stop(timeout=self.stop_timeout)
            self._publisher.delete_queue(waiter.queue_name)
        self._publisher.close()

    def _force_disconnect(self) -> int:
        """Test hook: cut every live broker connection as a network failure would.

        Returns the number of connections cut; all of them are re-established.
        """
        return self._registry.cut_all()

    def __repr__(self) -> str:
        p = self.params
        return (
            f"RabbitTransport({p.hostname}:{p.port}{p.virtual_host!r}, "
            f"control_exchange={self.control_exchange!r})"
        )
