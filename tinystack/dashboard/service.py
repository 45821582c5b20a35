"""The dashboard: what the deployment needs to run it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from oslo_config import cfg
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from tinystack.common import config
from tinystack.common.api.app import create_app as create_base_app
from tinystack.common.clients.session import Session
from tinystack.common.policy import Policy
from tinystack.common.service import Runtime, ServiceSpec
from tinystack.common.timeutils import TTLCache
from tinystack.dashboard import policies
from tinystack.dashboard.api import deps as api_deps
from tinystack.dashboard.api.router import router
from tinystack.dashboard.conf import Options, register_opts
from tinystack.dashboard.horizon import launcher
from tinystack.dashboard.services import proxy
from tinystack.dashboard.services.deps import Deps
from tinystack.dashboard.services.policy_checks import Enforcers
from tinystack.dashboard.services.signer import Signer


def _streams(method: str, path: str) -> bool:
    """What the dashboard forwards to a service (image uploads, objects) is that
    service's to limit."""
    return path.startswith("/api/openstack/") and not path.startswith("/api/openstack/skyline/")


class DashboardService(ServiceSpec):
    name = "dashboard"
    service_type = "dashboard"
    catalog_name = "skyline"
    default_port = 8000
    url_suffix = ""
    migrations = None
    in_catalog = False

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        register_opts(conf)

    def create_app(self, runtime: Runtime) -> ASGIApp:
        self.register_opts(runtime.conf)
        opts = Options.from_conf(runtime.conf)
        secret = runtime.credentials.password if runtime.credentials else ""
        session = Session(runtime.auth_url, runtime.credentials, runtime.catalog, timeout=60)
        catalog = tuple(runtime.catalog)
        deps = Deps(
            opts=opts,
            session=session,
            signer=Signer(secret or secrets.token_hex(32)),
            codec=runtime.token_codec,
            revocations=runtime.revocations,
            catalog=catalog,
            token_data=TTLCache(30),
            http=proxy.client(),
            enforcers=Enforcers(runtime.conf, []),
        )
        deps.enforcers = Enforcers(runtime.conf, deps.services())
        app: FastAPI = create_base_app(
            title="tinystack dashboard",
            version="1",
            style="dashboard",
            streams=_streams,
            state={
                "token_codec": runtime.token_codec,
                "revocations": runtime.revocations,
                "policy": Policy(runtime.conf, policies.list_rules(), opts.policy_file or None),
                api_deps.STATE_KEY: deps,
            },
        )
        app.include_router(router)
        app.middleware("http")(renew_session)
        if opts.horizon_port and launcher.installed():
            runtime.extra["horizon"] = launcher.HorizonProcess(horizon_setup(runtime, opts))
        return app

    def start(self, runtime: Runtime) -> None:
        horizon: launcher.HorizonProcess | None = runtime.extra.get("horizon")
        if horizon is not None:
            horizon.start()

    def stop(self, runtime: Runtime) -> None:
        horizon: launcher.HorizonProcess | None = runtime.extra.get("horizon")
        if horizon is not None:
            horizon.stop()


def horizon_setup(runtime: Runtime, opts: Options) -> launcher.HorizonSetup:
    """Upstream Horizon's configuration, from the cloud's (``[dashboard] horizon_*``)."""
    conf = runtime.conf
    directory = config.state_dir(conf) / "horizon"
    return launcher.HorizonSetup(
        directory=str(directory),
        host=str(conf.bind_host),
        port=opts.horizon_port,
        keystone_url=runtime.auth_url,
        default_domain=opts.default_domain,
        static_root=opts.horizon_static_root or str(directory / "static"),
        plugins=tuple(os.path.abspath(p) for p in opts.horizon_plugins),
        ca_file=config.tls_ca_file(conf),
        cert_file=str(conf.tls_cert_file or ""),
        key_file=str(conf.tls_key_file or ""),
    )


async def renew_session(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Re-sign a session whose end is near (the request's dependency decided so)."""
    response = await call_next(request)
    renewed = getattr(request.state, "renewed", None)
    if renewed is not None and response.status_code < 400:
        deps = api_deps.get_deps(request)
        api_deps.set_session(response, deps, renewed, request.url.scheme == "https")
    return response


SERVICE = DashboardService()
