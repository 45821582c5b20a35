"""The compute service as the deployment sees it: options, app, bootstrap, workers."""

from __future__ import annotations

import importlib
import logging
import socket
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from oslo_config import cfg
from starlette.middleware import Middleware

from tinystack.common import config
from tinystack.common.api.app import create_app
from tinystack.common.clients.metric import MetricClient
from tinystack.common.clients.session import Session
from tinystack.common.db import Database
from tinystack.common.notifier import Notifier
from tinystack.common.policy import Policy
from tinystack.common.rpc import RPCServer, Target
from tinystack.common.rpc.versions import CapReport, RunningVersion
from tinystack.common.service import BootstrapInfo, Listener, Runtime, ServiceSpec
from tinystack.common.timeutils import TTLCache
from tinystack.compute import conf as compute_conf
from tinystack.compute import policies, rpcapi
from tinystack.compute.agent.context import AgentDeps
from tinystack.compute.agent.group import AgentGroup, fake_drivers
from tinystack.compute.api.microversion import MAX_VERSION, MicroversionMiddleware
from tinystack.compute.api.router import include_routers
from tinystack.compute.conductor.manager import ConductorManager
from tinystack.compute.consoleproxy.app import ConsoleProxy
from tinystack.compute.scheduler.manager import SchedulerManager
from tinystack.compute.services import consoles, flavors, hosts, service_versions
from tinystack.compute.services.agent_store import DatabaseAgentStore
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.service_versions import CONDUCTOR_BINARY, SCHEDULER_BINARY
from tinystack.compute.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)


class Workers:
    """What :meth:`ComputeService.start` runs: conductor, scheduler and the compute agents
    (those of ``[compute] enabled_workers``)."""

    def __init__(self) -> None:
        self.servers: list[RPCServer] = []
        self.agents: AgentGroup | None = None
        self.conductor: ConductorManager | None = None
        self.scheduler: SchedulerManager | None = None
        self.stopping = threading.Event()
        self.heartbeat: threading.Thread | None = None
        self.orphans: threading.Thread | None = None

    def serve(self, deps: Deps, topic: str, host: str, endpoint: Any, threads: int) -> None:
        """An RPC server for ``endpoint`` on ``topic`` (``server=host``), started."""
        server = RPCServer(deps.transport, Target(topic, server=host), [endpoint], int(threads))
        server.start()
        self.servers.append(server)

    def beat(self, deps: Deps, service_ids: list[int]) -> None:
        """Heartbeats of the conductor and scheduler services (agents beat for themselves)."""

        def run() -> None:
            while not self.stopping.wait(int(deps.opts.report_interval)):
                try:
                    hosts.heartbeat(deps.db, service_ids)
                except Exception:
                    LOG.exception("conductor/scheduler heartbeat failed")

        self.heartbeat = threading.Thread(target=run, name="compute-heartbeat", daemon=True)
        self.heartbeat.start()

    def watch_orphans(self, deps: Deps, conductor: ConductorManager) -> None:
        """Distributed mode: builds and deletes a dead compute process or a database
        fault left, older than ``orphan_timeout`` (another conductor may be at work on
        younger ones), settled at start and every ``report_interval``."""
        older_than = float(deps.opts.orphan_timeout)

        def run() -> None:
            while True:
                try:
                    conductor.recover(older_than)
                except Exception:
                    LOG.exception("cannot settle orphaned builds and deletes")
                if self.stopping.wait(int(deps.opts.report_interval)):
                    return

        self.orphans = threading.Thread(target=run, name="compute-orphans", daemon=True)
        self.orphans.start()


def agent_deps(deps: Deps) -> AgentDeps:
    """What the compute agents get of the process's :class:`Deps`: a store over the database
    and the network (never the database itself), the options and the clients."""
    opts = deps.opts
    store = DatabaseAgentStore(
        deps.db,
        deps.network,
        deps.volume,
        name_template=str(opts.instance_name_template),
        default_zone=str(opts.default_availability_zone),
        zone_cache=deps.zone_cache,
    )
    return AgentDeps(
        store=store,
        opts=opts,
        placement=deps.placement,
        image=deps.image,
        network=deps.network,
        volume=deps.volume,
        conductor=deps.conductor,
        agents=deps.agents,
        transport=deps.transport,
        changed=deps.changed,
        notifier=Notifier.from_conf(deps.conf, lambda: deps.transport, "compute"),
        metric=MetricClient(deps.session),
        telemetry=compute_conf.TelemetryOptions.from_conf(deps.conf),
    )


def bootstrap_image_dir(conf: cfg.ConfigOpts) -> Path:
    """``[image] bootstrap_image_dir`` when the image service's options are registered in
    this process (``tinystack up``), else its default ``<state_dir>/bootstrap-images``.

    Read here, in the composition root, because compute may not import the image service
    (its ``conf.Options`` owns the option) and the option is not compute's.
    """
    try:
        configured = str(conf.image.bootstrap_image_dir or "")
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):  # the image service runs elsewhere
        configured = ""
    if configured:
        return Path(configured).expanduser()
    return config.state_dir(conf) / "bootstrap-images"


def enabled_workers(opts: compute_conf.Options) -> set[str]:
    """``[compute] enabled_workers`` as a set; unknown names are a configuration error."""
    wanted = {str(w).strip() for w in opts.enabled_workers or [] if str(w).strip()}
    unknown = sorted(wanted - set(compute_conf.WORKERS))
    if unknown:
        raise ValueError(
            f"[compute] enabled_workers: unknown worker(s) {', '.join(unknown)} "
            f"(choose among {', '.join(compute_conf.WORKERS)})"
        )
    return wanted


class ComputeService(ServiceSpec):
    name = "compute"
    service_type = "compute"
    catalog_name = "nova"
    default_port = 8774
    url_suffix = "/v2.1"
    migrations = "tinystack.compute.migrations"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        compute_conf.register_opts(conf)

    def running_versions(self, conf: cfg.ConfigOpts, db: Database) -> list[RunningVersion]:
        opts = compute_conf.Options.from_conf(conf)
        return service_versions.report(db, int(opts.service_down_time))

    def version_caps(self, conf: cfg.ConfigOpts, db: Database) -> list[CapReport]:
        return service_versions.caps(conf, db)

    def deps(self, runtime: Runtime) -> Deps:
        with self._lock:
            found: Deps | None = runtime.extra.get("compute")
            if found is None:
                if runtime.db is None:
                    raise RuntimeError("the compute service needs its database")
                self.register_opts(runtime.conf)
                session = Session(runtime.auth_url, runtime.credentials, runtime.catalog)
                opts = compute_conf.Options.from_conf(runtime.conf)
                found = Deps(
                    conf=runtime.conf,
                    db=runtime.db,
                    session=session,
                    transport_url=runtime.conf.transport_url,
                    image_cache=TTLCache(float(opts.image_cache_seconds)),
                    bootstrap_image_dir=bootstrap_image_dir(runtime.conf),
                )
                runtime.extra["compute"] = found
            return found

    def create_app(self, runtime: Runtime) -> FastAPI:
        deps = self.deps(runtime)
        policy_file = deps.opts.policy_file or None
        app = create_app(
            title="tinystack compute",
            version=str(MAX_VERSION),
            style="compute",
            state={
                "token_codec": runtime.token_codec,
                "revocations": runtime.revocations,
                "policy": Policy(runtime.conf, policies.list_rules(), policy_file),
                "compute": deps,
            },
        )
        include_routers(app)
        # Inside the request-id middleware, so version errors carry the id too.
        app.user_middleware.insert(1, Middleware(MicroversionMiddleware))
        return app

    def extra_listeners(self, runtime: Runtime) -> list[Listener]:
        """The metadata API on ``[compute] metadata_listen:metadata_listen_port``, the noVNC
        and serial console proxies on ``[console] proxy_host``'s ports."""
        from tinystack.compute.metadata import api as metadata_api

        deps = self.deps(runtime)
        opts = deps.opts
        app = metadata_api.create_app(
            deps.db,
            str(opts.metadata_proxy_shared_secret or ""),
            name_template=str(opts.instance_name_template),
            cache_seconds=float(opts.metadata_cache_expiration),
        )
        host = str(opts.metadata_listen or runtime.conf.bind_host)
        console = deps.console_opts
        novnc = ConsoleProxy(deps, consoles.VNC_TYPES, console.novnc_dir)
        serial = ConsoleProxy(deps, consoles.SERIAL_TYPES, None)
        return [
            Listener("metadata", host, int(opts.metadata_listen_port), app, tls=False),
            Listener(
                "novncproxy",
                console.proxy_host,
                console.novncproxy_port,
                novnc,
                console.novncproxy_base_url.split(":", 1)[0],
                "vnc_lite.html",
            ),
            Listener(
                "serialproxy",
                console.proxy_host,
                console.serialproxy_port,
                serial,
                console.serialproxy_base_url.split(":", 1)[0],
            ),
        ]

    def bootstrap(self, runtime: Runtime, info: BootstrapInfo) -> None:
        flavors.bootstrap(self.deps(runtime).db)

    def start(self, runtime: Runtime) -> None:
        deps = self.deps(runtime)
        service_versions.caps(deps.conf, deps.db)  # a bad [upgrade_levels] value stops here
        opts = deps.opts
        enabled = enabled_workers(opts)
        workers = Workers()
        runtime.extra["compute_workers"] = workers
        host = str(opts.host or "") or socket.gethostname()
        beating = []
        if "conductor" in enabled:
            workers.conductor = ConductorManager(deps)
            workers.serve(
                deps, rpcapi.CONDUCTOR_TOPIC, host, workers.conductor, opts.conductor_threads
            )
            beating.append(
                hosts.ensure_service(deps.db, host, CONDUCTOR_BINARY, rpcapi.CONDUCTOR_TOPIC).id
            )
        if "scheduler" in enabled:
            workers.scheduler = SchedulerManager(deps)
            workers.serve(
                deps, rpcapi.SCHEDULER_TOPIC, host, workers.scheduler, opts.scheduler_threads
            )
            beating.append(
                hosts.ensure_service(deps.db, host, SCHEDULER_BINARY, rpcapi.SCHEDULER_TOPIC).id
            )
        if beating:
            workers.beat(deps, beating)
        if workers.conductor is not None:
            if deps.transport_url.startswith("inproc"):
                workers.conductor.recover(0.0)  # the process that ran them was this one
            else:
                workers.watch_orphans(deps, workers.conductor)
        drivers: list[ComputeDriver] = []
        if "agent" in enabled:
            drivers, names = self._drivers(deps, host)
            if drivers:
                group = AgentGroup(agent_deps(deps), drivers, names)
                group.start()
                workers.agents = group
        LOG.info(
            "compute workers started on %s: %s; %d compute host(s)",
            host,
            ", ".join(w for w in compute_conf.WORKERS if w in enabled) or "none",
            len(drivers),
        )

    @staticmethod
    def _drivers(deps: Deps, host: str) -> tuple[list[ComputeDriver], list[str]]:
        """The hosts this process runs: fake ones, or one host with the configured driver."""
        choice = str(deps.opts.compute_driver)
        if choice in ("qemu", "auto"):
            # auto: QEMU as root with qemu-system-x86_64 present, else one fake host (logged).
            choice = f"tinystack.compute.virt.qemu.factory:{choice}_driver"
        if choice == "libvirt":
            choice = "tinystack.compute.virt.libvirt.factory:libvirt_driver"
        if choice == "fake":
            fakes = fake_drivers(deps.opts)
            return list(fakes), [d.hostname for d in fakes]
        module, _, name = choice.partition(":")
        factory = getattr(importlib.import_module(module), name)
        return [factory(deps, host)], [host]

    def stop(self, runtime: Runtime) -> None:
        workers: Workers | None = runtime.extra.pop("compute_workers", None)
        if workers is not None:
            workers.stopping.set()
            if workers.agents is not None:
                workers.agents.stop()
            for server in workers.servers:
                server.stop()
            for server in workers.servers:
                server.wait()
        deps: Any = runtime.extra.pop("compute", None)
        if deps is not None:
            deps.close()


SERVICE = ComputeService()
