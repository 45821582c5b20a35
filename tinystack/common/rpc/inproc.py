"""In-process transport (``inproc://`` or ``inproc://NAME``).

Transports built with the same name and control exchange share a bus. Messages are
JSON round-tripped, as on the wire, so the caller and the endpoint never share
mutable objects and unserializable arguments fail the same way as with RabbitMQ.
The caller only hands the message to the server's handler (which queues it on the
server's worker pool): endpoints never run on the caller's thread.

A call made while no server listens on its topic waits (up to its timeout) for one
to start; a cast with nobody listening is dropped. Notifications go to one listener of
every pool of their topic (round-robin within a pool); with no listener they are
dropped, as nothing outside the process could read them.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
import urllib.parse
import weakref
from collections.abc import Iterator
from typing import Any

from .exceptions import MessagingTimeout, RPCError
from .target import Target
from .transport import (
    IncomingMessage,
    Listener,
    MessageHandler,
    NotificationHandler,
    Transport,
)

LOG = logging.getLogger(__name__)


def _roundtrip(obj: Any) -> Any:
    return json.loads(json.dumps(obj))


class _Subscription(Listener):
    def __init__(self, bus: _Bus, owner: InProcTransport, target: Target, handler: MessageHandler):
        self.bus = bus
        self.owner = owner
        self.topic = target.topic
        self.server = target.server
        self._handler = handler
        self._lock = threading.Lock()
        self._active = True

    def deliver(self, message: IncomingMessage) -> bool:
        with self._lock:
            if not self._active:
                return False
            self._handler(message)
            return True

    def stop(self) -> None:
        self.bus.remove(self)
        with self._lock:  # waits for a delivery in progress
            self._active = False
        self.owner._forget(self)


class _NotificationSubscription(Listener):
    def __init__(self, bus: _Bus, topic: str, pool: str | None, handler: NotificationHandler):
        self.bus = bus
        self.topic = topic
        self.pool = pool
        self.handler = handler
        self._lock = threading.Lock()
        self._active = True

    def deliver(self, body: dict[str, Any]) -> None:
        with self._lock:
            if self._active:
                self.handler(body)

    def stop(self) -> None:
        self.bus.remove_notifications(self)
        with self._lock:  # waits for a delivery in progress
            self._active = False


class _Bus:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._subs: dict[str, list[_Subscription]] = {}
        self._round_robin: dict[tuple[str, str | None], Iterator[int]] = {}
        self._notified: dict[str, list[_NotificationSubscription]] = {}

    def add_notifications(self, sub: _NotificationSubscription) -> None:
        with self._cond:
            self._notified.setdefault(sub.topic, []).append(sub)

    def remove_notifications(self, sub: _NotificationSubscription) -> None:
        with self._cond:
            subs = self._notified.get(sub.topic, [])
            if sub in subs:
                subs.remove(sub)

    def notification_targets(self, topic: str) -> list[_NotificationSubscription]:
        """One listener per pool of ``topic``, round-robin within the pool."""
        with self._cond:
            pools: dict[str | None, list[_NotificationSubscription]] = {}
            for sub in self._notified.get(topic, ()):
                pools.setdefault(sub.pool, []).append(sub)
            picked = []
            for pool, subs in pools.items():
                counter = self._round_robin.setdefault((f"notify:{topic}", pool), itertools.count())
                picked.append(subs[next(counter) % len(subs)])
            return picked

    def add(self, sub: _Subscription) -> None:
        with self._cond:
            self._subs.setdefault(sub.topic, []).append(sub)
            self._cond.notify_all()

    def remove(self, sub: _Subscription) -> None:
        with self._cond:
            subs = self._subs.get(sub.topic, [])
            if sub in subs:
                subs.remove(sub)
            if not subs:
                self._subs.pop(sub.topic, None)

    def all(self, topic: str) -> list[_Subscription]:
        with self._cond:
            return list(self._subs.get(topic, ()))

    def pick(self, target: Target, deadline: float | None) -> _Subscription | None:
        """One subscription for ``target`` (round-robin), waiting until ``deadline``."""
        key = (target.topic, target.server)
        with self._cond:
            while True:
                subs = [
                    s
                    for s in self._subs.get(target.topic, ())
                    if target.server is None or s.server == target.server
                ]
                if subs:
                    counter = self._round_robin.setdefault(key, itertools.count())
                    return subs[next(counter) % len(subs)]
                if deadline is None:
                    self._cond.wait()
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)


_BUSES: weakref.WeakValueDictionary[tuple[str, str], _Bus] = weakref.WeakValueDictionary()
_BUSES_LOCK = threading.Lock()


def _bus_for(name: str, control_exchange: str) -> _Bus:
    with _BUSES_LOCK:
        bus = _BUSES.get((name, control_exchange))
        if bus is None:
            bus = _Bus()
            _BUSES[(name, control_exchange)] = bus
        return bus


class _ReplySlot:
    def __init__(self) -> None:
        self.event = threading.Event()
        self.value: dict[str, Any] = {}

    def set(self, reply: dict[str, Any]) -> None:
        value = _roundtrip(reply)  # TypeError if unserializable: the dispatcher reports it
        if not self.event.is_set():
            self.value = value
            self.event.set()


class InProcTransport(Transport):
    """Transport between threads of one process."""

    def __init__(self, url: str = "inproc://", *, control_exchange: str = "tinystack") -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme.lower() != "inproc":
            raise ValueError("InProcTransport needs an inproc:// URL")
        self.name = parts.netloc + parts.path
        self.control_exchange = control_exchange
        self._bus = _bus_for(self.name, control_exchange)
        self._lock = threading.Lock()
        self._subs: set[_Subscription] = set()
        self._notification_subs: set[_NotificationSubscription] = set()
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise RPCError("RPC transport is closed")

    def cast(self, target: Target, message: dict[str, Any]) -> None:
        self._check_open()
        encoded = json.dumps(message)
        if target.fanout:
            subs = self._bus.all(target.topic)
        else:
            sub = self._bus.pick(target, deadline=time.monotonic())
            subs = [sub] if sub is not None else []
        if not subs:
            LOG.debug("RPC cast %s to %s: no server listening", message.get("method"), target)
        for sub in subs:
            sub.deliver(IncomingMessage.from_body(json.loads(encoded)))

    def call(
        self, target: Target, message: dict[str, Any], timeout: float | None
    ) -> dict[str, Any]:
        self._check_open()
        if target.fanout:
            raise RPCError("a fanout target can only be cast to")
        payload = _roundtrip(message)
        deadline = None if timeout is None else time.monotonic() + timeout
        slot = _ReplySlot()
        incoming = IncomingMessage.from_body(payload, reply=slot.set)
        while True:  # a server stopping between pick() and deliver() is skipped
            sub = self._bus.pick(target, deadline)
            if sub is None:
                raise MessagingTimeout(f"no server for {target.topic} took {incoming.method}")
            if sub.deliver(incoming):
                break
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not slot.event.wait(remaining):
            raise MessagingTimeout(
                f"timed out after {timeout}s waiting for {incoming.method} on {target.topic}"
            )
        return slot.value

    def listen(self, target: Target, handler: MessageHandler) -> Listener:
        self._check_open()
        sub = _Subscription(self._bus, self, target, handler)
        with self._lock:
            self._subs.add(sub)
        self._bus.add(sub)
        return sub

    def notify(self, topic: str, body: dict[str, Any]) -> None:
        self._check_open()
        encoded = json.dumps(body)
        for sub in self._bus.notification_targets(topic):
            sub.deliver(json.loads(encoded))

    def listen_notifications(
        self, topic: str, handler: NotificationHandler, pool: str | None = None
    ) -> Listener:
        self._check_open()
        sub = _NotificationSubscription(self._bus, topic, pool, handler)
        with self._lock:
            self._notification_subs.add(sub)
        self._bus.add_notifications(sub)
        return sub

    def _forget(self, sub: _Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            subs, self._subs = list(self._subs), set()
            notified, self._notification_subs = list(self._notification_subs), set()
        for sub in subs:
            sub.stop()
        for notification_sub in notified:
            notification_sub.stop()

    def __repr__(self) -> str:
        return f"InProcTransport(name={self.name!r}, control_exchange={self.control_exchange!r})"
