"""The Image service (Glance v2) as the deployment sees it."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from fastapi import FastAPI
from oslo_config import cfg

from tinystack.common.api.app import create_app
from tinystack.common.clients.limits import LimitsReader
from tinystack.common.clients.session import Session
from tinystack.common.policy import Policy
from tinystack.common.service import BootstrapInfo, Runtime, ServiceSpec
from tinystack.image import conf as image_conf
from tinystack.image import policies
from tinystack.image.api.router import include_routers
from tinystack.image.conf import Options
from tinystack.image.services import bootstrap
from tinystack.image.services.deps import Deps
from tinystack.image.store import FileStore

LOG = logging.getLogger(__name__)
#: partial uploads untouched for this long are leftovers of a crash
STALE_PARTIAL_SECONDS = 3600


def build_deps(runtime: Runtime) -> Deps:
    if runtime.db is None:
        raise RuntimeError("the image service needs its database")
    opts = Options.from_conf(runtime.conf)
    if opts.use_keystone_limits:
        session = Session(runtime.auth_url, runtime.credentials, runtime.catalog)
        opts = replace(opts, unified_limits=LimitsReader(session, "image"))
    root, chunk = opts.store_dir, opts.io_chunk_size
    store = FileStore(root, chunk_size=chunk)
    staging = FileStore(root / "staging", chunk_size=chunk)
    return Deps(db=runtime.db, opts=opts, store=store, staging=staging)


class ImageService(ServiceSpec):
    name = "image"
    service_type = "image"
    catalog_name = "glance"
    default_port = 9292
    url_suffix = ""
    migrations = "tinystack.image.migrations"

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        image_conf.register_opts(conf)

    def create_app(self, runtime: Runtime) -> FastAPI:
        deps = build_deps(runtime)
        state = {
            "token_codec": runtime.token_codec,
            "revocations": runtime.revocations,
            "policy": Policy(runtime.conf, policies.list_rules()),
            "deps": deps,
        }
        app = create_app(title="tinystack image", version="2.17", style="image", state=state)
        include_routers(app)
        return app

    def bootstrap(self, runtime: Runtime, info: BootstrapInfo) -> None:
        bootstrap.register_images(build_deps(runtime))

    def start(self, runtime: Runtime) -> None:
        deps = build_deps(runtime)
        cutoff = time.time() - STALE_PARTIAL_SECONDS
        for store in (deps.store, deps.staging):
            assert isinstance(store, FileStore)
            for path in store.partial_files():
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        LOG.info("removed the leftover of an interrupted upload: %s", path)
                except FileNotFoundError:
                    pass


SERVICE = ImageService()
