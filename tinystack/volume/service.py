"""The volume service as the deployment sees it: options, app, bootstrap, workers."""

from __future__ import annotations

import logging
import threading
from typing import Any

from fastapi import FastAPI
from oslo_config import cfg
from starlette.middleware import Middleware

from tinystack.common import config
from tinystack.common.api.app import create_app
from tinystack.common.clients.session import Session
from tinystack.common.policy import Policy
from tinystack.common.service import BootstrapInfo, Runtime, ServiceSpec
from tinystack.volume import conf as volume_conf
from tinystack.volume import policies
from tinystack.volume.api.microversion import MAX_VERSION, MicroversionMiddleware
from tinystack.volume.api.router import include_routers
from tinystack.volume.services.deps import Deps

LOG = logging.getLogger(__name__)


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
        # Inside the request-id middleware, so version errors carry the id too.
        app.user_middleware.insert(1, Middleware(MicroversionMiddleware))
        return app

    def bootstrap(self, runtime: Runtime, info: BootstrapInfo) -> None:
        del runtime, info

    def start(self, runtime: Runtime) -> None:
        deps = self.deps(runtime)
        enabled = enabled_workers(deps.opts)
        LOG.info("volume workers: %s", ", ".join(sorted(enabled)) or "none")

    def stop(self, runtime: Runtime) -> None:
        deps: Any = runtime.extra.pop("volume", None)
        if deps is not None:
            deps.close()


SERVICE = VolumeService()
