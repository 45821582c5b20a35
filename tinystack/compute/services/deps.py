"""``Deps``: the one dependency bundle of compute's service layer and workers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from oslo_config import cfg

from tinystack.common.clients.image import ImageClient
from tinystack.common.clients.limits import LimitsReader
from tinystack.common.clients.network import NetworkClient
from tinystack.common.clients.placement import PlacementClient
from tinystack.common.clients.session import Session
from tinystack.common.db import Database
from tinystack.common.rpc import Transport, get_transport
from tinystack.common.timeutils import TTLCache
from tinystack.compute.conf import Options
from tinystack.compute.rpcapi import ComputeAgentAPI, ConductorAPI, SchedulerAPI

C = TypeVar("C")


@dataclass
class Deps:
    """Compute's collaborators, built once per process by the service spec."""

    conf: cfg.ConfigOpts
    db: Database
    session: Session
    transport_url: str = "inproc://"
    #: the image service's bootstrap images (the QEMU driver probes acceleration with the
    #: test image there); resolved by the composition root, None: ``<state_dir>/bootstrap-images``
    bootstrap_image_dir: Path | None = None
    #: (image id, project id) -> the image as that project sees it
    image_cache: TTLCache[dict[str, Any]] = field(default_factory=lambda: TTLCache(5))
    #: instances whose addresses were re-read from the network service recently
    address_refresh: TTLCache[bool] = field(default_factory=lambda: TTLCache(2))
    #: host -> availability zone, as agents stamp it on new instances
    zone_cache: TTLCache[str] = field(default_factory=lambda: TTLCache(5))
    _watched: dict[str, threading.Event] = field(default_factory=dict)
    _transport: Transport | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _clients: dict[str, Any] = field(default_factory=dict)

    def watch(self, uuid: str) -> threading.Event:
        """An event :meth:`changed` sets when workers in this process finish with ``uuid``."""
        with self._lock:
            return self._watched.setdefault(uuid, threading.Event())

    def unwatch(self, uuid: str) -> None:
        with self._lock:
            self._watched.pop(uuid, None)

    def changed(self, uuid: str) -> None:
        """Wake the request lingering on ``uuid``, if any (workers elsewhere cannot)."""
        event = self._watched.get(uuid)
        if event is not None:
            event.set()

    @cached_property
    def opts(self) -> Options:
        """The ``[compute]`` options, typed (read once); with unified limits, their reader."""
        opts = Options.from_conf(self.conf)
        if opts.quota_driver == "unified_limits":
            opts = replace(opts, unified_limits=LimitsReader(self.session, "compute"))
        return opts

    @property
    def placement(self) -> PlacementClient:
        return self._client("placement", PlacementClient)

    @property
    def image(self) -> ImageClient:
        return self._client("image", ImageClient)

    @property
    def network(self) -> NetworkClient:
        return self._client("network", NetworkClient)

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
    def conductor(self) -> ConductorAPI:
        return self._client("conductor", lambda _s: ConductorAPI(self.transport, self.timeout))

    @property
    def scheduler(self) -> SchedulerAPI:
        return self._client("scheduler", lambda _s: SchedulerAPI(self.transport, self.timeout))

    @property
    def agents(self) -> ComputeAgentAPI:
        return self._client("agents", lambda _s: ComputeAgentAPI(self.transport, self.timeout))

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
