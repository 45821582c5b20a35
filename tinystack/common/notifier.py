"""Notifications on the message bus, in oslo.messaging's envelope.

A service emits what happened (``compute.instance.create.end``, ``volume.create.end``,
``port.create.end``, ``image.upload``, ``identity.project.created``, …) through a
:class:`Notifier`; any consumer — telemetry's notification agent, a test, a third
party's kombu consumer on the RabbitMQ of a distributed cloud — reads them with a
:class:`NotificationListener` or straight off the ``notifications.<priority>`` queue.

The message is oslo.messaging's ``messagingv2`` one: ``message_id``, ``publisher_id``
(``compute.<host>``), ``event_type``, ``priority`` (``INFO``, …), ``payload``,
``timestamp`` (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC) and the caller's context as
``_context_*`` keys (never its token), wrapped as ``{"oslo.version": "2.0",
"oslo.message": "<the message as a JSON string>"}`` and published on the topic
``<topic>.<priority lower-case>`` of the RPC transport (``[DEFAULT] transport_url``).

``[oslo_messaging_notifications] driver``: ``messagingv2`` (default) or ``noop``;
``topics``: the topics published to (``notifications``); both registered by
``common/config.py``. A failed publish is logged
and never fails the operation that emitted it.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from oslo_config import cfg

from tinystack.common.rpc import Listener, Transport, get_transport
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow

LOG = logging.getLogger(__name__)

GROUP = "oslo_messaging_notifications"
ENVELOPE_VERSION = "2.0"
PRIORITIES = ("audit", "debug", "info", "warn", "error", "critical", "sample")


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification as oslo.messaging's ``messagingv2`` driver sends it."""

    event_type: str
    publisher_id: str
    payload: dict[str, JSON]
    priority: str = "INFO"
    message_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timestamp: str = field(default_factory=lambda: str(utcnow().replace(tzinfo=None)))
    context: dict[str, JSON] = field(default_factory=dict)

    def message(self) -> dict[str, JSON]:
        """The message inside the envelope."""
        body: dict[str, JSON] = {f"_context_{k}": v for k, v in self.context.items()}
        body.update(
            message_id=self.message_id,
            publisher_id=self.publisher_id,
            event_type=self.event_type,
            priority=self.priority,
            payload=self.payload,
            timestamp=self.timestamp,
        )
        return body

    def to_wire(self) -> dict[str, Any]:
        return {"oslo.version": ENVELOPE_VERSION, "oslo.message": json.dumps(self.message())}

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> Notification:
        """Decode an envelope (or a bare v1 message); ValueError if it is not one."""
        raw = body.get("oslo.message")
        message = json.loads(raw) if isinstance(raw, str) else dict(body)
        if not isinstance(message, dict):
            raise ValueError("a notification message must be a JSON object")
        event_type, payload = message.get("event_type"), message.get("payload")
        if not isinstance(event_type, str) or not isinstance(payload, dict):
            raise ValueError("a notification needs an event_type and an object payload")
        return cls(
            event_type=event_type,
            publisher_id=str(message.get("publisher_id", "")),
            payload=payload,
            priority=str(message.get("priority", "INFO")),
            message_id=str(message.get("message_id", "")),
            timestamp=str(message.get("timestamp", "")),
            context={
                k.removeprefix("_context_"): v
                for k, v in message.items()
                if k.startswith("_context_")
            },
        )


def _context(ctxt: CallContext | None) -> dict[str, JSON]:
    if ctxt is None:
        return {}
    return {
        "request_id": ctxt.request_id,
        "user_id": ctxt.user_id,
        "project_id": ctxt.project_id,
        "user": ctxt.user_id,
        "project": ctxt.project_id,
        "roles": list(ctxt.roles),
        "is_admin": ctxt.is_admin,
    }


class Notifier:
    """Emits notifications as ``publisher_id`` (``compute.<host>``, ``image.localhost``).

    ``transport`` is called on the first notification (services open theirs lazily).
    """

    def __init__(
        self,
        transport: Callable[[], Transport],
        publisher_id: str,
        topics: Sequence[str] = ("notifications",),
        enabled: bool = True,
    ) -> None:
        self._transport = transport
        self.publisher_id = publisher_id
        self.topics = tuple(topics)
        self.enabled = enabled
        self._lock = threading.Lock()
        self._url = ""
        self._opened: Transport | None = None

    @classmethod
    def from_conf(
        cls, conf: cfg.ConfigOpts, transport: Callable[[], Transport], publisher_id: str
    ) -> Notifier:
        group = conf[GROUP]
        return cls(transport, publisher_id, group.topics, enabled=group.driver != "noop")

    @classmethod
    def own_transport(cls, conf: cfg.ConfigOpts, publisher_id: str) -> Notifier:
        """A notifier opening a transport of its own to ``[DEFAULT] transport_url`` on first
        use, for services without workers (identity, image); :meth:`close` closes it."""
        notifier = cls.from_conf(conf, lambda: notifier._own(), publisher_id)
        notifier._url = str(conf.transport_url)
        return notifier

    def _own(self) -> Transport:
        with self._lock:
            if self._opened is None:
                self._opened = get_transport(self._url)
            return self._opened

    def close(self) -> None:
        """Close the transport :meth:`own_transport` opened, if any."""
        with self._lock:
            opened, self._opened = self._opened, None
        if opened is not None:
            opened.close()

    @classmethod
    def disabled(cls, publisher_id: str) -> Notifier:
        """A notifier that emits nothing (until a service's start gives it a transport)."""

        def no_transport() -> Transport:
            raise RuntimeError("notifications are disabled")

        return cls(no_transport, publisher_id, enabled=False)

    def prepare(self, publisher_id: str) -> Notifier:
        """This notifier publishing as ``publisher_id`` (a host's ``compute.<host>``)."""
        return Notifier(self._transport, publisher_id, self.topics, self.enabled)

    def info(self, ctxt: CallContext | None, event_type: str, payload: dict[str, JSON]) -> None:
        self.notify(ctxt, event_type, payload, "INFO")

    def error(self, ctxt: CallContext | None, event_type: str, payload: dict[str, JSON]) -> None:
        self.notify(ctxt, event_type, payload, "ERROR")

    def notify(
        self, ctxt: CallContext | None, event_type: str, payload: dict[str, JSON], priority: str
    ) -> None:
        if not self.enabled:
            return
        notification = Notification(
            event_type, self.publisher_id, payload, priority.upper(), context=_context(ctxt)
        )
        body = notification.to_wire()
        try:
            transport = self._transport()
            for topic in self.topics:
                transport.notify(f"{topic}.{priority.lower()}", body)
        except Exception:
            LOG.exception("cannot emit notification %s", event_type)


class NotificationListener:
    """Hands the notifications of ``topics`` × ``priorities`` to ``handler``, one at a
    time on a thread of its own (the transport's threads never wait on it).

    ``pool``: listeners sharing a pool share the messages; without one the listener
    reads the topic's own queue (on RabbitMQ, shared with whoever else reads it).
    """

    def __init__(
        self,
        transport: Transport,
        handler: Callable[[Notification], None],
        topics: Sequence[str] = ("notifications",),
        priorities: Sequence[str] = ("info", "error"),
        pool: str | None = None,
    ) -> None:
        self.transport = transport
        self.handler = handler
        self.targets = [f"{t}.{p}" for t in topics for p in priorities]
        self.pool = pool
        self._queue: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._listeners: list[Listener] = []
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="notification-listener", daemon=True)
        self._thread.start()
        for target in self.targets:
            pool = f"{self.pool}.{target}" if self.pool else None
            self._listeners.append(
                self.transport.listen_notifications(target, self._queue.put, pool=pool)
            )

    def stop(self) -> None:
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.stop()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _run(self) -> None:
        while (body := self._queue.get()) is not None:
            try:
                notification = Notification.from_wire(body)
            except ValueError as exc:
                LOG.warning("dropping a malformed notification: %s", exc)
                continue
            try:
                self.handler(notification)
            except Exception:
                LOG.exception("notification handler failed on %s", notification.event_type)
