"""The object storage service as the deployment sees it: options, the proxy app, this
node's storage servers (extra listeners) and the default rings."""

from __future__ import annotations

import threading

from fastapi import FastAPI
from oslo_config import cfg

from tinystack.common import config
from tinystack.common.api.app import create_app
from tinystack.common.policy import Policy
from tinystack.common.service import Listener, Runtime, ServiceSpec
from tinystack.object_store import policies
from tinystack.object_store.api.cors import CORSMiddleware
from tinystack.object_store.api.deps import STATE_KEY
from tinystack.object_store.api.formpost import FormPostMiddleware
from tinystack.object_store.api.router import TrailingSlash, router
from tinystack.object_store.api.staticweb import StaticWebMiddleware
from tinystack.object_store.api.tempurl import TempURLMiddleware
from tinystack.object_store.api.transaction import TransIdMiddleware
from tinystack.object_store.conf import Options, register_opts
from tinystack.object_store.ring.layout import DefaultLayout, Rings, ensure_default, hash_suffix
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.storage import node
from tinystack.object_store.storage.layout import prepare_devices


class ObjectStoreService(ServiceSpec):
    name = "object_store"
    service_type = "object-store"
    catalog_name = "swift"
    default_port = 8080
    url_suffix = "/v1/AUTH_%(project_id)s"
    migrations = None
    #: Swift has no version document at /; its healthcheck answers there
    health_path = "/healthcheck"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        register_opts(conf)

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
                ensure_default(opts.ring_dir, layout)
                prepare_devices(opts.devices, opts.default_devices)
                found = Deps(opts, Rings.load(opts.ring_dir, opts.ring_check_interval))
                runtime.extra[STATE_KEY] = found
            return found

    def create_app(self, runtime: Runtime) -> FastAPI:
        deps = self.deps(runtime)
        app = create_app(
            title="tinystack object storage",
            version="1",
            style="object_store",
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
        # innermost first: CORS shapes what the handlers answer, FormPost and temp URLs
        # stand in front of them as Swift's middleware do
        app.add_middleware(TrailingSlash)
        app.add_middleware(CORSMiddleware, state_key=STATE_KEY)
        app.add_middleware(StaticWebMiddleware, state_key=STATE_KEY)
        app.add_middleware(FormPostMiddleware, state_key=STATE_KEY)
        app.add_middleware(TempURLMiddleware, state_key=STATE_KEY)
        app.add_middleware(TransIdMiddleware)  # outermost: it names the request
        return app

    def extra_listeners(self, runtime: Runtime) -> list[Listener]:
        """This node's account, container and object servers."""
        deps = self.deps(runtime)
        opts = deps.opts
        storage = node.build(
            opts.devices, deps.rings, hash_suffix(opts.ring_dir), opts.storage_listen,
            opts.object_port, opts.replicator_interval, opts.auditor_interval,
        )  # fmt: skip
        runtime.extra["object_store_node"] = storage
        host = opts.storage_listen
        return [
            Listener("object-server", host, opts.object_port, storage.object_app),
            Listener("container-server", host, opts.container_port, storage.container_app),
            Listener("account-server", host, opts.account_port, storage.account_app),
        ]

    def start(self, runtime: Runtime) -> None:
        storage = runtime.extra.get("object_store_node")
        if storage is not None:
            storage.start()

    def stop(self, runtime: Runtime) -> None:
        storage = runtime.extra.get("object_store_node")
        if storage is not None:
            storage.stop()


SERVICE = ObjectStoreService()
