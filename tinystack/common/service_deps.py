"""``ServiceDeps``: what every service's ``Deps`` with workers shares.

A service's ``services/deps.py`` subclasses it (a dataclass) and adds its options, its
clients and its RPC APIs. The base holds the one Keystone :class:`Session`, the RPC
transport (opened on first use), the per-process client cache, and the lingering of
API requests on in-process workers: a handler :meth:`watch`es a resource, casts, and
waits for a worker in the same process to say it :meth:`changed`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tinystack.common.clients.session import Session
from tinystack.common.rpc import Transport, get_transport

C = TypeVar("C")


@dataclass(kw_only=True)
class ServiceDeps:
    """The session, transport, clients and lingering a service's ``Deps`` builds on."""

    session: Session
    transport_url: str = "inproc://"
    _watched: dict[str, threading.Event] = field(default_factory=dict)
    _transport: Transport | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clients: dict[str, Any] = field(default_factory=dict)

    # -- lingering for in-process workers ------------------------------------------------
    def watch(self, resource_id: str) -> threading.Event:
        """An event :meth:`changed` sets when a worker in this process is done with it."""
        with self._lock:
            return self._watched.setdefault(resource_id, threading.Event())

    def unwatch(self, resource_id: str) -> None:
        with self._lock:
            self._watched.pop(resource_id, None)

    def changed(self, resource_id: str) -> None:
        """Wake the request lingering on ``resource_id``, if any (workers elsewhere cannot)."""
        event = self._watched.get(resource_id)
        if event is not None:
            event.set()

    # -- clients --------------------------------------------------------------------------
    def _client(self, name: str, make: Callable[[Session], C]) -> C:
        """The client ``name``, made once with the session."""
        found = self._clients.get(name)
        if found is None:
            found = self._clients[name] = make(self.session)
        client: C = found
        return client

    @property
    def transport(self) -> Transport:
        with self._lock:
            if self._transport is None:
                self._transport = get_transport(self.transport_url)
            return self._transport

    def close(self) -> None:
        with self._lock:
            transport, self._transport = self._transport, None
            self._clients.clear()
        if transport is not None:
            transport.close()
        self.session.close()
