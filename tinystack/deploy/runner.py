"""Run a whole cloud in one process: every enabled service's API on one event loop
(a service whose ``api_workers`` is above 1 also in children sharing its port:
``deploy/workers.py``).

Start-up order: configuration, Fernet keys, passwords, per-service database
migrations, identity bootstrap (idempotent: reconciles the catalog with the
current ports), every service's own bootstrap, the API servers (and the services'
extra listeners, such as compute's metadata API), then the services' background
workers. SIGINT/SIGTERM stop everything cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from oslo_config import cfg
from starlette.datastructures import State
from starlette.types import ASGIApp

from tinystack.common import config
from tinystack.common.auth.keys import KeyRepository
from tinystack.common.auth.poller import RevocationPoller
from tinystack.common.auth.revocation import RevocationList
from tinystack.common.auth.tokens import TokenCodec
from tinystack.common.clients.session import Session
from tinystack.common.cloud import BootstrapInfo, CatalogEntry, ServiceCredentials
from tinystack.common.db import Database, migrate
from tinystack.common.service import Listener, Runtime, ServiceSpec
from tinystack.deploy import clouds, registry, secrets, tls

LOG = logging.getLogger(__name__)
Progress = Callable[[str], None]


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the runner."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """With TLS, drop idle keep-alive connections at once: closing one gracefully
        waits up to 30 s for the client's close_notify, which a pooled client that is
        not reading (the services' own sessions) never sends."""
        if self.config.is_ssl:
            for conn in list(self.server_state.connections):
                cycle = getattr(conn, "cycle", None)
                transport = getattr(conn, "transport", None)
                if transport is not None and (cycle is None or cycle.response_complete):
                    transport.abort()
        await super().shutdown(sockets)


#: the secrets.json entry shared by the metadata proxy (network) and API (compute)
METADATA_SECRET = "metadata_proxy_shared_secret"


def share_metadata_secret(conf: cfg.ConfigOpts, generated: str) -> None:
    """Give ``[network]`` and ``[compute] metadata_proxy_shared_secret`` one value.

    A value configured in either section becomes the other's default; with neither set
    both default to ``generated`` (from secrets.json). Sections not registered (service
    not enabled) are skipped.
    """
    groups = [
        g for g in ("compute", "network") if g in conf and METADATA_SECRET in getattr(conf, g)
    ]
    configured = [str(getattr(conf, g).metadata_proxy_shared_secret or "") for g in groups]
    chosen = next((v for v in configured if v), generated)
    if len({v for v in configured if v}) > 1:
        LOG.warning("[compute] and [network] metadata_proxy_shared_secret differ")
    for group in groups:
        conf.set_default(METADATA_SECRET, chosen, group=group)


@dataclass
class RunningService:
    spec: ServiceSpec
    runtime: Runtime
    app: ASGIApp
    port: int
    url: str
    listeners: list[Listener] = field(default_factory=list)


@dataclass
class Cloud:
    conf: cfg.ConfigOpts
    progress: Progress = print
    services: list[RunningService] = field(default_factory=list)
    state_dir: Path = field(init=False)
    clouds_yaml: Path | None = None
    poller: RevocationPoller | None = None
    #: user -> password of the admin and demo logins (when identity runs here)
    logins: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state_dir = config.state_dir(self.conf)

    @property
    def auth_url(self) -> str:
        identity = next(s for s in self.services if s.spec.name == "identity")
        return identity.url

    def prepare(self, only: str | None = None) -> None:
        """Everything before serving: keys, secrets, databases, bootstrap.

        ``only`` runs a single service (the distributed mode's ``tinystack serve``);
        the catalog still lists every enabled service.
        """
        conf = self.conf
        everything = list(conf.enabled_services or registry.available())
        if only is None and "identity" not in everything:
            raise SystemExit("the identity service must be enabled")
        if only is not None and only not in everything:
            everything.append(only)
        all_specs = [registry.load(n) for n in everything]
        for spec in all_specs:
            config.register_service_opts(conf, spec.name, spec.default_port)
            spec.register_opts(conf)
        names = [only] if only else everything
        specs = [registry.load(n) for n in names]

        keys = KeyRepository(config.key_repository(conf))
        if keys.setup():
            self.progress(f"created Fernet keys in {keys.path}")
        codec = TokenCodec(keys)
        revocations = RevocationList()
        passwords = secrets.load_or_create(
            self.state_dir, [s.name for s in all_specs] + [METADATA_SECRET]
        )
        share_metadata_secret(conf, passwords[METADATA_SECRET])

        host = config.public_host(conf)
        scheme = config.api_scheme(conf)
        if scheme == "https":
            tls.trust(self.state_dir, config.tls_ca_file(conf))
        catalog = []
        urls: dict[str, str] = {}
        for spec in all_specs:
            port = getattr(conf, spec.name).port
            url = urls[spec.name] = f"{scheme}://{host}:{port}{spec.url_suffix}"
            if not spec.in_catalog:
                continue
            catalog.append(CatalogEntry(spec.service_type, spec.catalog_name, url))
            catalog += [CatalogEntry(kind, name, url) for kind, name in spec.catalog_aliases]
        users = {
            s.name: ServiceCredentials(username=s.catalog_name, password=passwords[s.name])
            for s in all_specs
        }
        auth_url = conf.auth_url or urls.get("identity") or ""
        if "identity" not in names and any(s.checks_tokens(conf) for s in specs):
            session = Session(auth_url, users[names[0]], timeout=10.0, max_connections=1)
            self.poller = RevocationPoller(session, revocations)

        for spec in specs:
            entry_url = urls[spec.name]
            started = time.monotonic()
            db = None
            if spec.migrations:
                db = Database(config.database_url(conf, spec.name))
                if migrate(db, spec.migrations, f"alembic_version_{spec.name}"):
                    self.progress(f"{spec.name}: database migrated")
            runtime = Runtime(
                conf=conf,
                token_codec=codec,
                revocations=revocations,
                db=db,
                auth_url=auth_url,
                credentials=users[spec.name],
                catalog=catalog,
            )
            app = spec.create_app(runtime)
            if isinstance(getattr(app, "state", None), State):
                # what the access rules of application credentials name this service
                app.state.service_type = spec.service_type  # type: ignore[attr-defined]
                # the body limit of common/api/body_limit.py
                app.state.max_request_body_size = conf.max_request_body_size  # type: ignore[attr-defined]
            port = getattr(conf, spec.name).port
            listeners = spec.extra_listeners(runtime)
            self.services.append(RunningService(spec, runtime, app, port, entry_url, listeners))
            LOG.debug("%s prepared in %.2fs", spec.name, time.monotonic() - started)

        info = BootstrapInfo(
            admin_password=passwords["admin"],
            demo_password=passwords["demo"],
            region=conf.region,
            catalog=catalog,
            service_users=users,
        )
        for svc in self.services:
            svc.spec.bootstrap(svc.runtime, info)
        if "identity" in names:
            self.clouds_yaml = clouds.write(
                self.state_dir, auth_url, passwords, conf.region, config.tls_ca_file(conf)
            )
            self.logins = {user: passwords[user] for user in ("admin", "demo")}

    def _endpoints(self) -> list[tuple[str, str, int, ASGIApp, bool]]:
        """(name, host, port, app, tls) of every server: the APIs, then the extra listeners."""
        host = str(self.conf.bind_host)
        found = [(s.spec.name, host, s.port, s.app, True) for s in self.services]
        for svc in self.services:
            found += [
                (f"{svc.spec.name} {x.name}", x.host, x.port, x.app, x.tls) for x in svc.listeners
            ]
        return found

    def _check_ports(self) -> None:
        taken: dict[int, str] = {}
        for name, host, port, _, _ in self._endpoints():
            if port in taken:
                raise SystemExit(f"{name}: port {port} is also configured for {taken[port]}")
            taken[port] = name
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((host, port))
                except OSError as exc:
                    raise SystemExit(f"{name}: cannot listen on {host}:{port}: {exc}") from None

    def _workers(self) -> list[tuple[RunningService, int]]:
        """(service, extra processes) of the APIs served by several processes."""
        found = []
        for svc in self.services:
            count = svc.spec.api_workers(self.conf) - 1
            if count > 0 and svc.spec.worker_role:
                found.append((svc, count))
        return found

    async def serve(self, ready: Callable[[], None] | None = None, worker: bool = False) -> None:
        """Serve every API until a signal arrives, then stop workers and servers.

        ``worker``: this process is one of a service's API workers (deploy/workers.py):
        its API shares the port with the cloud's process and the other workers."""
        import anyio.to_thread

        from tinystack.deploy.workers import ApiWorkers, reuse_port_socket

        children: list[ApiWorkers] = []
        shared = list(self.services)  # a worker's one API shares the port
        if not worker:
            self._check_ports()
            groups = self._workers()
            shared = [svc for svc, _ in groups]
            children = [ApiWorkers(self.conf, svc.spec.worker_role, n) for svc, n in groups]
        bind = str(self.conf.bind_host)
        sockets = {svc.port: reuse_port_socket(bind, svc.port) for svc in shared}
        anyio.to_thread.current_default_thread_limiter().total_tokens = self.conf.api_threads
        sys.setswitchinterval(self.conf.gil_switch_interval)
        servers = []
        cert, key = str(self.conf.tls_cert_file or ""), str(self.conf.tls_key_file or "")
        for _, host, port, app, tls_ in self._endpoints():
            cfg_ = uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                http="httptools",
                server_header=False,
                timeout_keep_alive=self.conf.client_socket_timeout,
                ssl_certfile=cert if tls_ and cert else None,
                ssl_keyfile=key if tls_ and cert else None,
            )
            servers.append(_Server(cfg_))
        listening = [sockets.get(port) for _, _, port, _, _ in self._endpoints()]
        loop = asyncio.get_running_loop()

        def stop() -> None:
            for server in servers:
                server.should_exit = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop)
        tasks = [
            asyncio.create_task(s.serve(sockets=[sock] if sock else None))
            for s, sock in zip(servers, listening, strict=True)
        ]
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                stop()
                break
            await asyncio.sleep(0.01)
        else:
            if self.poller is not None:
                self.poller.start()
            for svc in self.services:
                await asyncio.to_thread(svc.spec.start, svc.runtime)
            for group in children:
                group.start()
            if ready:
                ready()
        try:
            await asyncio.gather(*tasks)
        finally:
            for group in children:
                await asyncio.to_thread(group.stop)
            if self.poller is not None:
                self.poller.stop()
            for svc in reversed(self.services):
                await asyncio.to_thread(svc.spec.stop, svc.runtime)
                if svc.runtime.db is not None:
                    svc.runtime.db.dispose()
