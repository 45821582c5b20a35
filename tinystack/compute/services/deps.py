"""``Deps``: the one dependency bundle of compute's service layer and workers."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from oslo_config import cfg

from tinystack.common.clients.image import ImageClient
from tinystack.common.clients.limits import LimitsReader
from tinystack.common.clients.network import NetworkClient
from tinystack.common.clients.placement import PlacementClient
from tinystack.common.clients.volume import VolumeClient
from tinystack.common.db import Database
from tinystack.common.rpc.versions import VersionCap
from tinystack.common.service_deps import ServiceDeps
from tinystack.common.timeutils import TTLCache
from tinystack.compute.conf import ConsoleOptions, Options
from tinystack.compute.rpcapi import ComputeAgentAPI, ConductorAPI, SchedulerAPI
from tinystack.compute.services import service_versions


@dataclass
class Deps(ServiceDeps):
    """Compute's collaborators, built once per process by the service spec (session,
    transport, client cache and lingering: :class:`ServiceDeps`)."""

    conf: cfg.ConfigOpts
    db: Database
    #: the image service's bootstrap images (the QEMU driver probes acceleration with the
    #: test image there); resolved by the composition root, None: ``<state_dir>/bootstrap-images``
    bootstrap_image_dir: Path | None = None
    #: (image id, project id) -> the image as that project sees it
    image_cache: TTLCache[dict[str, Any]] = field(default_factory=lambda: TTLCache(5))
    #: instances whose addresses were re-read from the network service recently
    address_refresh: TTLCache[bool] = field(default_factory=lambda: TTLCache(2))
    #: host -> availability zone, as agents stamp it on new instances
    zone_cache: TTLCache[str] = field(default_factory=lambda: TTLCache(5))

    @cached_property
    def opts(self) -> Options:
        """The ``[compute]`` options, typed (read once); with unified limits, their reader."""
        opts = Options.from_conf(self.conf)
        if opts.quota_driver == "unified_limits":
            opts = replace(opts, unified_limits=LimitsReader(self.session, "compute"))
        return opts

    @cached_property
    def console_opts(self) -> ConsoleOptions:
        """The ``[console]`` options (the proxies, console links and tokens)."""
        return ConsoleOptions.from_conf(self.conf)

    @property
    def placement(self) -> PlacementClient:
        return self._client("placement", PlacementClient)

    @property
    def image(self) -> ImageClient:
        return self._client("image", ImageClient)

    @property
    def network(self) -> NetworkClient:
        return self._client("network", NetworkClient)

    @property
    def volume(self) -> VolumeClient:
        return self._client("volume", VolumeClient)

    @cached_property
    def host(self) -> str:
        """This process's service host: ``[compute] host``, else the machine's name."""
        return str(self.opts.host or "") or socket.gethostname()

    @property
    def conductor(self) -> ConductorAPI:
        cap = self._cap("conductor")
        return self._client("conductor", lambda _s: ConductorAPI(self.transport, self.timeout, cap))

    @property
    def scheduler(self) -> SchedulerAPI:
        cap = self._cap("scheduler")
        return self._client("scheduler", lambda _s: SchedulerAPI(self.transport, self.timeout, cap))

    @property
    def agents(self) -> ComputeAgentAPI:
        cap = self._cap("compute")
        return self._client("agents", lambda _s: ComputeAgentAPI(self.transport, self.timeout, cap))

    def _cap(self, topic: str) -> VersionCap:
        """``[upgrade_levels] <topic>``; ``auto``: the oldest the topic's services report."""
        return service_versions.version_cap(self.conf, self.db, topic)

    @property
    def timeout(self) -> float:
        return float(self.opts.rpc_timeout)
