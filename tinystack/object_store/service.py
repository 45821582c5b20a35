"""The object storage service as the deployment sees it: options, the proxy app, this
node's storage servers (extra listeners) and the default rings.

``[object_store] role`` splits it for the distributed mode: ``proxy`` serves the API
only (the rings, copied from the operator's ring directory, name the storage hosts);
``storage`` serves this host's account, container and object servers and runs their
daemons, with a healthcheck on the service's port instead of the API; ``all`` (the
default) is both in one process, over the default ring of local devices."""

from __future__ import annotations

import threading
from pathlib import Path

from oslo_config import cfg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from tinystack.common import config
from tinystack.common.api.app import create_app
from tinystack.common.clients.session import Session
from tinystack.common.policy import Policy
from tinystack.common.service import Listener, Runtime, ServiceSpec
from tinystack.object_store import policies
from tinystack.object_store.api.cors import CORSMiddleware
from tinystack.object_store.api.deps import STATE_KEY
from tinystack.object_store.api.formpost import FormPostMiddleware
from tinystack.object_store.api.replies import refused
from tinystack.object_store.api.router import TrailingSlash, router
from tinystack.object_store.api.s3.dispatch import S3Middleware
from tinystack.object_store.api.staticweb import StaticWebMiddleware
from tinystack.object_store.api.tempurl import TempURLMiddleware
from tinystack.object_store.api.transaction import TransIdMiddleware
from tinystack.object_store.conf import Options, register_opts
from tinystack.object_store.ring.layout import (
    RINGS,
    DefaultLayout,
    Rings,
    ensure_default,
    hash_suffix,
    ring_path,
)  # fmt: skip
from tinystack.object_store.services.deps import RECHECK_SECONDS, Deps
from tinystack.object_store.services.info_cache import GENERATIONS, InfoCache
from tinystack.object_store.services.reads import Refused
from tinystack.object_store.services.s3.auth import Authenticator
from tinystack.object_store.storage import node
from tinystack.object_store.storage.layout import prepare_devices
from tinystack.object_store.storage.process import NodeSpec, StorageProcesses


def _streams(method: str, path: str) -> bool:
    """Object and S3 uploads stream to the object servers; Swift limits what it stores
    (object size, metadata) itself: no request body limit."""
    return True


class ObjectStoreService(ServiceSpec):
    name = "object_store"
    service_type = "object-store"
    catalog_name = "swift"
    default_port = 8080
    url_suffix = "/v1/AUTH_%(project_id)s"
    migrations = None
    #: Swift has no version document at /; its healthcheck answers there
    health_path = "/healthcheck"
    worker_role = "object-store-proxy"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        register_opts(conf)

    def checks_tokens(self, conf: cfg.ConfigOpts) -> bool:
        return str(conf.object_store.role) != "storage"

    def deps(self, runtime: Runtime) -> Deps:
        with self._lock:
            found: Deps | None = runtime.extra.get(STATE_KEY)
            if found is None:
                self.register_opts(runtime.conf)
                opts = Options.from_conf(runtime.conf, config.state_dir(runtime.conf))
                layout = DefaultLayout(
                    ip=opts.storage_listen,
                    ports={
                        "object": opts.object_port,
                        "container": opts.container_port,
                        "account": opts.account_port,
                    },
                    devices=opts.default_devices,
                    replicas=opts.replicas,
                    part_power=opts.part_power,
                    min_part_hours=opts.min_part_hours,
                )
                if opts.role == "all":
                    ensure_default(opts.ring_dir, layout)
                    prepare_devices(opts.devices, opts.default_devices)
                else:
                    _require_rings(opts.ring_dir)
                s3_auth = None
                if opts.s3_api and runtime.auth_url:
                    session = Session(runtime.auth_url, runtime.credentials, runtime.catalog)
                    s3_auth = Authenticator(session, runtime.token_codec)
                rings = Rings.load(opts.ring_dir, opts.ring_check_interval)
                generations = config.state_dir(runtime.conf) / "object_store" / GENERATIONS
                info = InfoCache(generations, RECHECK_SECONDS)
                found = Deps(opts, rings, info, s3_auth=s3_auth)
                runtime.extra[STATE_KEY] = found
            return found

    def create_app(self, runtime: Runtime) -> ASGIApp:
        deps = self.deps(runtime)
        if deps.opts.role == "storage":
            return healthcheck_app()
        app = create_app(
            title="tinystack object storage",
            version="1",
            style="object_store",
            streams=_streams,
            state={
                "token_codec": runtime.token_codec,
                "revocations": runtime.revocations,
                "policy": Policy(
                    runtime.conf, policies.list_rules(), deps.opts.policy_file or None
                ),
                STATE_KEY: deps,
                "service_type": self.service_type,
            },
        )
        app.include_router(router)
        app.add_exception_handler(Refused, refused)  # the plain bodies of Swift's middlewares
        # innermost first: CORS shapes what the handlers answer, FormPost and temp URLs
        # stand in front of them as Swift's middleware do
        app.add_middleware(TrailingSlash)
        app.add_middleware(CORSMiddleware, state_key=STATE_KEY)
        app.add_middleware(StaticWebMiddleware, state_key=STATE_KEY)
        app.add_middleware(FormPostMiddleware, state_key=STATE_KEY)
        app.add_middleware(TempURLMiddleware, state_key=STATE_KEY)
        app.add_middleware(S3Middleware)  # S3 requests never reach the Swift routes
        app.add_middleware(TransIdMiddleware)  # outermost: it names the request
        return app

    def api_workers(self, conf: cfg.ConfigOpts) -> int:
        if str(conf.object_store.role) == "storage":
            return 1
        return int(conf.object_store.proxy_workers)

    def extra_listeners(self, runtime: Runtime) -> list[Listener]:
        """This node's account, container and object servers (in this process, or in
        ``storage_workers`` processes of their own with role ``all``)."""
        deps = self.deps(runtime)
        opts = deps.opts
        if opts.role == "proxy":
            return []
        if opts.role == "all" and opts.storage_workers > 0:
            spec = NodeSpec(
                str(opts.devices), str(opts.ring_dir), opts.ring_check_interval,
                hash_suffix(opts.ring_dir), opts.storage_listen, opts.object_port,
                opts.container_port, opts.account_port, opts.replicator_interval,
                opts.auditor_interval, runtime.conf.gil_switch_interval,
            )  # fmt: skip
            # started now, not in start(): other services' start() (volume backups'
            # recovery) may already use the object store
            processes = StorageProcesses(spec, opts.storage_workers)
            processes.start()
            runtime.extra["object_store_processes"] = processes
            return []
        storage = node.build(
            opts.devices, deps.rings, hash_suffix(opts.ring_dir), opts.storage_listen,
            opts.object_port, opts.replicator_interval, opts.auditor_interval,
        )  # fmt: skip
        runtime.extra["object_store_node"] = storage
        host = opts.storage_listen
        return [
            Listener("object-server", host, opts.object_port, storage.object_app, tls=False),
            Listener(
                "container-server", host, opts.container_port, storage.container_app, tls=False
            ),
            Listener("account-server", host, opts.account_port, storage.account_app, tls=False),
        ]

    def start(self, runtime: Runtime) -> None:
        storage = runtime.extra.get("object_store_node")
        if storage is not None:
            storage.start()

    def stop(self, runtime: Runtime) -> None:
        for key in ("object_store_node", "object_store_processes"):
            storage = runtime.extra.get(key)
            if storage is not None:
                storage.stop()


def _require_rings(ring_dir: Path) -> None:
    """A proxy or storage host runs on the operator's rings; it never makes its own."""
    missing = [str(ring_path(ring_dir, n)) for n in RINGS if not ring_path(ring_dir, n).exists()]
    if missing or not (ring_dir / "hash_path_suffix").exists():
        raise SystemExit(
            f"object_store: no ring in {ring_dir} "
            f"({', '.join(missing) or 'hash_path_suffix'} missing): copy the ring files "
            "and hash_path_suffix from the ring builder's host"
        )


def healthcheck_app() -> Starlette:
    """What a storage host answers on the service's port: Swift's healthcheck."""

    async def ok(request: Request) -> PlainTextResponse:
        return PlainTextResponse("OK")

    return Starlette(routes=[Route("/healthcheck", ok, methods=["GET", "HEAD"])])


SERVICE = ObjectStoreService()
