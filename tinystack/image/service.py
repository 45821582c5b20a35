"""The Image service (Glance v2) as the deployment sees it."""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import replace

from fastapi import FastAPI
from oslo_config import cfg

from tinystack.common.api.app import create_app
from tinystack.common.clients.limits import LimitsReader
from tinystack.common.clients.session import Session
from tinystack.common.cloud import CatalogEntry
from tinystack.common.notifier import Notifier
from tinystack.common.policy import Policy
from tinystack.common.service import BootstrapInfo, Runtime, ServiceSpec
from tinystack.image import conf as image_conf
from tinystack.image import policies
from tinystack.image.api.router import include_routers
from tinystack.image.conf import Options
from tinystack.image.services import (
    bootstrap,
    image_data,
    import_flow,
    metadef_loader,
    store_sweep,
)
from tinystack.image.services.cache import ImageCache
from tinystack.image.services.cache_prefetcher import Prefetcher
from tinystack.image.services.deps import Deps
from tinystack.image.store import FileStore
from tinystack.image.store.registry import StoreSet

LOG = logging.getLogger(__name__)
#: partial uploads untouched for this long are leftovers of a crash
STALE_PARTIAL_SECONDS = 3600
_DEPS = "image.deps"
_PREFETCHER = "image.prefetcher"


def _project_id(runtime: Runtime, name: str) -> str | None:
    """The id of project ``name`` in the Default domain, asked of identity with the service's
    credentials; None (logged) when identity cannot say."""
    if not runtime.auth_url or runtime.credentials is None:
        return None
    identity = [CatalogEntry("identity", "keystone", runtime.auth_url)]
    session = Session(runtime.auth_url, runtime.credentials, identity)
    try:
        resp = session.request(
            "identity", "GET", "/projects", params={"name": name, "domain_id": "default"}
        )
        found = resp.json().get("projects") or []
    except Exception:  # the images are still registered, without an owner
        LOG.warning("could not look up project %s for the bootstrap images", name, exc_info=True)
        return None
    finally:
        session.close()
    return str(found[0]["id"]) if found else None


def build_deps(runtime: Runtime) -> Deps:
    """The service's one Deps per runtime (the app, bootstrap and workers share it)."""
    existing = runtime.extra.get(_DEPS)
    if isinstance(existing, Deps):
        return existing
    if runtime.db is None:
        raise RuntimeError("the image service needs its database")
    opts = Options.from_conf(runtime.conf)
    session = Session(runtime.auth_url, runtime.credentials, runtime.catalog)
    if opts.use_keystone_limits:
        opts = replace(opts, unified_limits=LimitsReader(session, "image"))
    specs = [replace(spec, session=session) for spec in opts.backend_specs()]
    stores = StoreSet.build(
        specs,
        opts.default_store,
        opts.store_dir / "staging",
        multi=opts.multi_store,
    )
    cache = None
    if opts.image_cache_dir is not None:
        cache = ImageCache(opts.image_cache_dir, opts.image_cache_max_size)
    deps = Deps(
        db=runtime.db,
        opts=opts,
        stores=stores,
        auth_url=runtime.auth_url,
        cache=cache,
        notifier=Notifier.own_transport(runtime.conf, f"image.{socket.gethostname()}"),
    )
    runtime.extra[_DEPS] = deps
    return deps


def _streams(method: str, path: str) -> bool:
    """Image data uploads stream to the store: no request body limit."""
    return method == "PUT" and path.endswith(("/file", "/stage"))


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
        app = create_app(
            title="tinystack image", version="2.17", style="image", state=state, streams=_streams
        )
        include_routers(app)
        return app

    def bootstrap(self, runtime: Runtime, info: BootstrapInfo) -> None:
        metadef_loader.load(build_deps(runtime))

    def start(self, runtime: Runtime) -> None:
        deps = build_deps(runtime)
        # at start, not bootstrap: the owner's id comes from identity's API, which answers now
        bootstrap.register_images(deps, _project_id(runtime, deps.opts.bootstrap_image_owner))
        interrupted = set(image_data.recover_uploads(deps))
        if interrupted:
            LOG.info("%d uploads interrupted by a restart: images back in queued", len(interrupted))
        cutoff = time.time() - STALE_PARTIAL_SECONDS
        for store in (*deps.stores, deps.staging):
            if not isinstance(store, FileStore):
                continue
            # a file committed by an upload killed before it recorded its location
            leftovers = [store.root / image_id for image_id in interrupted]
            for path in [*store.partial_files(), *leftovers]:
                try:
                    if path.name.split(".")[0] in interrupted or path.stat().st_mtime < cutoff:
                        path.unlink()
                        LOG.info("removed the leftover of an interrupted upload: %s", path)
                except FileNotFoundError:
                    pass
        store_sweep.start(deps, STALE_PARTIAL_SECONDS)
        recovered = import_flow.recover(deps)
        if recovered:
            LOG.info("failed %d import tasks interrupted by a restart", recovered)
        if deps.cache is not None:
            prefetcher = Prefetcher(deps)
            prefetcher.start()
            runtime.extra[_PREFETCHER] = prefetcher

    def stop(self, runtime: Runtime) -> None:
        prefetcher = runtime.extra.pop(_PREFETCHER, None)
        if isinstance(prefetcher, Prefetcher):
            prefetcher.stop()
        deps = runtime.extra.get(_DEPS)
        if isinstance(deps, Deps):
            deps.tasks_pool.shutdown(wait=False, cancel_futures=True)
            deps.notifier.close()


SERVICE = ImageService()
