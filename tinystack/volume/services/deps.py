"""``Deps``: the one dependency bundle of the volume service layer and workers."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

from oslo_config import cfg

from tinystack.common.clients.image import ImageClient
from tinystack.common.clients.limits import LimitsReader
from tinystack.common.clients.object_store import ObjectStoreClient
from tinystack.common.db import Database
from tinystack.common.notifier import Notifier
from tinystack.common.service_deps import ServiceDeps
from tinystack.volume.conf import Options
from tinystack.volume.rpcapi import BackupAPI, SchedulerAPI, VolumeAPI
from tinystack.volume.services import service_versions


@dataclass
class Deps(ServiceDeps):
    """The volume service's collaborators, built once per process by the service spec
    (session, transport, client cache and lingering: :class:`ServiceDeps`)."""

    conf: cfg.ConfigOpts
    db: Database
    #: ``<state_dir>``: the file backend's default home (``<state_dir>/volumes``)
    state_dir: Path
    #: the services running in this process, binary -> host (``os-services/get-log``)
    local_services: dict[str, str] = field(default_factory=dict)

    @cached_property
    def opts(self) -> Options:
        """The ``[volume]`` options, typed (read once); with unified limits, their reader."""
        opts = Options.from_conf(self.conf)
        if opts.quota_driver == "unified_limits":
            opts = replace(opts, unified_limits=LimitsReader(self.session, "block-storage"))
        return opts

    @cached_property
    def notifier(self) -> Notifier:
        """Notifications on the process's transport (``common/notifier.py``)."""
        return Notifier.from_conf(self.conf, lambda: self.transport, "volume")

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

    @property
    def scheduler(self) -> SchedulerAPI:
        cap = service_versions.version_cap(self.conf, self.db, "volume_scheduler")
        return self._client("scheduler", lambda _s: SchedulerAPI(self.transport, self.timeout, cap))

    @property
    def volumes(self) -> VolumeAPI:
        """The volume managers (one per backend)."""
        cap = service_versions.version_cap(self.conf, self.db, "volume")
        return self._client("volumes", lambda _s: VolumeAPI(self.transport, self.timeout, cap))

    @property
    def backups(self) -> BackupAPI:
        """The backup services."""
        cap = service_versions.version_cap(self.conf, self.db, "backup")
        return self._client("backups", lambda _s: BackupAPI(self.transport, self.timeout, cap))

    @property
    def timeout(self) -> float:
        return float(self.opts.rpc_timeout)
