"""The volume service as the deployment sees it: options, app, bootstrap, workers."""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from fastapi import FastAPI
from oslo_config import cfg
from starlette.middleware import Middleware

from tinystack.common import config
from tinystack.common.api.app import create_app
from tinystack.common.clients.session import Session
from tinystack.common.db import Database
from tinystack.common.policy import Policy
from tinystack.common.rpc import RPCServer, Target
from tinystack.common.rpc.versions import CapReport, RunningVersion
from tinystack.common.service import BootstrapInfo, Runtime, ServiceSpec
from tinystack.volume import conf as volume_conf
from tinystack.volume import policies, rpcapi
from tinystack.volume.api.microversion import MAX_VERSION, MicroversionMiddleware
from tinystack.volume.api.router import include_routers
from tinystack.volume.backup.worker import BackupWorker
from tinystack.volume.manager.backend import Backend, load_driver
from tinystack.volume.scheduler.manager import SchedulerManager
from tinystack.volume.services import (
    backups,
    messages,
    os_services,
    service_versions,
    volume_types,
)
from tinystack.volume.services.deps import Deps

LOG = logging.getLogger(__name__)


class Workers:
    """What :meth:`VolumeService.start` runs: the scheduler and this host's backend."""

    def __init__(self) -> None:
        self.scheduler: RPCServer | None = None
        self.backend: Backend | None = None
        self.backup: BackupWorker | None = None
        self.stopping = threading.Event()
        self.heartbeat: threading.Thread | None = None

    def start_scheduler(self, deps: Deps, host: str) -> SchedulerManager:
        manager = SchedulerManager(deps)
        target = Target(rpcapi.SCHEDULER_TOPIC, server=host)
        self.scheduler = RPCServer(
            deps.transport, target, [manager], int(deps.opts.scheduler_threads)
        )
        self.scheduler.start()
        service = os_services.ensure(
            deps.db,
            host,
            os_services.SCHEDULER_BINARY,
            rpcapi.SCHEDULER_TOPIC,
            deps.opts.storage_availability_zone,
        )

        lost_age = int(deps.opts.lost_operation_age)

        def beat() -> None:
            while not self.stopping.wait(int(deps.opts.report_interval)):
                try:
                    os_services.heartbeat(deps.db, service.id)
                    messages.purge_expired(deps.db)
                except Exception:
                    LOG.exception("volume scheduler heartbeat failed")
                if lost_age:
                    try:
                        manager.recover(older_than=lost_age)
                    except Exception:
                        LOG.exception("volume scheduler: cannot take up lost creates")

        self.heartbeat = threading.Thread(target=beat, name="volume-scheduler-beat", daemon=True)
        self.heartbeat.start()
        return manager

    def stop(self) -> None:
        self.stopping.set()
        if self.backup is not None:
            self.backup.stop()
        if self.backend is not None:
            self.backend.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler.wait()


def enabled_workers(opts: volume_conf.Options) -> set[str]:
    """``[volume] enabled_workers`` as a set; unknown names are a configuration error."""
    wanted = set(opts.enabled_workers)
    unknown = sorted(wanted - set(volume_conf.WORKERS))
    if unknown:
        raise ValueError(
            f"[volume] enabled_workers: unknown worker(s) {', '.join(unknown)} "
            f"(choose among {', '.join(volume_conf.WORKERS)})"
        )
    return wanted


class VolumeService(ServiceSpec):
    name = "volume"
    service_type = "block-storage"
    catalog_name = "cinder"
    catalog_aliases = (("volumev3", "cinderv3"),)
    default_port = 8776
    url_suffix = "/v3"
    migrations = "tinystack.volume.migrations"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        volume_conf.register_opts(conf)

    def running_versions(self, conf: cfg.ConfigOpts, db: Database) -> list[RunningVersion]:
        opts = volume_conf.Options.from_conf(conf)
        return service_versions.report(db, int(opts.service_down_time))

    def version_caps(self, conf: cfg.ConfigOpts, db: Database) -> list[CapReport]:
        return service_versions.caps(conf, db)

    def deps(self, runtime: Runtime) -> Deps:
        with self._lock:
            found: Deps | None = runtime.extra.get("volume")
            if found is None:
                if runtime.db is None:
                    raise RuntimeError("the volume service needs its database")
                self.register_opts(runtime.conf)
                session = Session(runtime.auth_url, runtime.credentials, runtime.catalog)
                found = Deps(
                    conf=runtime.conf,
                    db=runtime.db,
                    session=session,
                    state_dir=config.state_dir(runtime.conf),
                    transport_url=runtime.conf.transport_url,
                )
                runtime.extra["volume"] = found
            return found

    def create_app(self, runtime: Runtime) -> FastAPI:
        deps = self.deps(runtime)
        policy_file = deps.opts.policy_file or None
        app = create_app(
            title="tinystack volume",
            version=str(MAX_VERSION),
            style="volume",
            state={
                "token_codec": runtime.token_codec,
                "revocations": runtime.revocations,
                "policy": Policy(runtime.conf, policies.list_rules(), policy_file),
                "volume": deps,
            },
        )
        include_routers(app)
        deps.local_services["cinder-api"] = deps.opts.host or socket.gethostname()
        # Inside the request-id middleware, so version errors carry the id too.
        app.user_middleware.insert(1, Middleware(MicroversionMiddleware))
        return app

    def bootstrap(self, runtime: Runtime, info: BootstrapInfo) -> None:
        del info
        deps = self.deps(runtime)
        volume_types.bootstrap(deps.db, deps.opts.default_volume_type)

    def start(self, runtime: Runtime) -> None:
        deps = self.deps(runtime)
        service_versions.caps(deps.conf, deps.db)  # a bad [upgrade_levels] value stops here
        opts = deps.opts
        enabled = enabled_workers(opts)
        host = opts.host or socket.gethostname()
        workers = Workers()
        runtime.extra["volume_workers"] = workers
        if "manager" in enabled:
            try:
                address = config.public_host(runtime.conf)
                driver = load_driver(opts, deps.state_dir, host, address)
            except ImportError:
                LOG.error("volume driver %r is not installed: no volume backend on %s",
                          opts.volume_driver, host)  # fmt: skip
            else:
                backend = Backend(deps, driver, host)
                backend.start()
                workers.backend = backend
                deps.local_services[os_services.VOLUME_BINARY] = backend.name
        if "backup" in enabled:
            workers.backup = BackupWorker(deps, host)
            workers.backup.start()
            deps.local_services[backups.BINARY] = host
        if "scheduler" in enabled:
            scheduler = workers.start_scheduler(deps, host)
            deps.local_services[os_services.SCHEDULER_BINARY] = host
            threading.Thread(
                target=scheduler.recover, name="volume-scheduler-recovery", daemon=True
            ).start()
        LOG.info("volume workers on %s: %s", host, ", ".join(sorted(enabled)) or "none")

    def stop(self, runtime: Runtime) -> None:
        workers: Workers | None = runtime.extra.pop("volume_workers", None)
        if workers is not None:
            workers.stop()
        deps: Any = runtime.extra.pop("volume", None)
        if deps is not None:
            deps.close()


SERVICE = VolumeService()
