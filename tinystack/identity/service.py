"""The identity service as the deployment sees it."""

from __future__ import annotations

from fastapi import FastAPI
from oslo_config import cfg

from tinystack.common.api.app import create_app
from tinystack.common.policy import Policy
from tinystack.common.service import BootstrapInfo, Runtime, ServiceSpec
from tinystack.identity import policies
from tinystack.identity.api import errors
from tinystack.identity.api.router import ROUTERS
from tinystack.identity.core import bootstrap, revoke
from tinystack.identity.core.state import IdentityState

OPTS = [
    cfg.IntOpt(
        "password_hash_rounds",
        default=12,
        min=4,
        max=31,
        help="bcrypt cost factor for password and secret hashes.",
    ),
    cfg.IntOpt(
        "password_expires_days",
        default=0,
        min=0,
        help="Days until a new password expires (0: never).",
    ),
    cfg.StrOpt("policy_file", default="", help="A policy.yaml overriding the defaults."),
]


class IdentityService(ServiceSpec):
    name = "identity"
    service_type = "identity"
    catalog_name = "keystone"
    default_port = 5000
    url_suffix = "/v3"
    migrations = "tinystack.identity.migrations"

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        conf.register_opts(OPTS, group="identity")

    def state(self, runtime: Runtime) -> IdentityState:
        state = runtime.extra.get("identity")
        if state is None:
            assert runtime.db is not None
            state = IdentityState(
                runtime.conf, runtime.db, runtime.token_codec, runtime.revocations
            )
            revoke.load(state)
            runtime.extra["identity"] = state
        return state

    def create_app(self, runtime: Runtime) -> FastAPI:
        conf = runtime.conf
        app = create_app(
            title="tinystack identity",
            version="3.14",
            style="identity",
            state={
                "identity": self.state(runtime),
                "token_codec": runtime.token_codec,
                "revocations": runtime.revocations,
                "policy": Policy(conf, policies.list_rules(), conf.identity.policy_file or None),
            },
        )
        for router in ROUTERS:
            app.include_router(router)
        errors.install(app)
        return app

    def bootstrap(self, runtime: Runtime, info: BootstrapInfo) -> None:
        bootstrap.bootstrap(self.state(runtime), info)


SERVICE = IdentityService()
