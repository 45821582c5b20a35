"""``Deps``: the one dependency bundle of the volume service layer and workers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from oslo_config import cfg

from tinystack.common.clients.image import ImageClient
from tinystack.common.clients.object_store import ObjectStoreClient
from tinystack.common.clients.session import Session
from tinystack.common.db import Database
from tinystack.common.rpc import Transport, get_transport
from tinystack.volume.conf import Options
from tinystack.volume.rpcapi import BackupAPI, SchedulerAPI, VolumeAPI

C = TypeVar("C")


@dataclass
class Deps:
    """The volume service's collaborators, built once per process by the service spec."""

    conf: cfg.ConfigOpts
    db: Database
    session: Session
    #: ``<state_dir>``: the file backend's default home (``<state_dir>/volumes``)
    state_dir: Path
    transport_url: str = "inproc://"
    _watched: dict[str, threading.Event] = field(default_factory=dict)
    _transport: Transport | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clients: dict[str, Any] = field(default_factory=dict)
    #: the services running in this process, binary -> host (``os-services/get-log``)
    local_services: dict[str, str] = field(default_factory=dict)

    @cached_property
    def opts(self) -> Options:
        """The ``[volume]`` options, typed (read once)."""
        return Options.from_conf(self.conf)

    # -- lingering for in-process workers ------------------------------------------------
    def watch(self, resource_id: str) -> threading.Event:
        """An event :meth:`changed` sets when a worker in this process is done with it."""
        with self._lock:
            return self._watched.setdefault(resource_id, threading.Event())

    def unwatch(self, resource_id: str) -> None:
        with self._lock:
            self._watched.pop(resource_id, None)

    def changed(self, resource_id: str) -> None:
        """Wake the request lingering on ``resource_id``, if any."""
        event = self._watched.get(resource_id)
        if event is not None:
            event.set()

    def settle(self, resource_id: str, event: threading.Event) -> None:
        """Wait up to ``api_settle_seconds`` for :meth:`changed` (then stop watching)."""
        try:
            event.wait(float(self.opts.api_settle_seconds))
        finally:
            self.unwatch(resource_id)

    # -- clients --------------------------------------------------------------------------
    @property
    def image(self) -> ImageClient:
        return self._client("image", ImageClient)

    @property
    def object_store(self) -> ObjectStoreClient:
        """The service's account in the object store (swift backups)."""
        return self._client("object_store", ObjectStoreClient)

    def _client(self, name: str, make: Callable[[Session], C]) -> C:
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

    @property
    def scheduler(self) -> SchedulerAPI:
        return self._client("scheduler", lambda _s: SchedulerAPI(self.transport, self.timeout))

    @property
    def volumes(self) -> VolumeAPI:
        """The volume managers (one per backend)."""
        return self._client("volumes", lambda _s: VolumeAPI(self.transport, self.timeout))

    @property
    def backups(self) -> BackupAPI:
        """The backup services."""
        return self._client("backups", lambda _s: BackupAPI(self.transport, self.timeout))

    @property
    def timeout(self) -> float:
        return float(self.opts.rpc_timeout)

    def close(self) -> None:
        with self._lock:
            transport, self._transport = self._transport, None
            self._clients.clear()
        if transport is not None:
            transport.close()
        self.session.close()
