"""The identity service as the deployment sees it."""

from __future__ import annotations

import socket

from fastapi import FastAPI
from oslo_config import cfg

from tinystack.common.api.app import create_app
from tinystack.common.notifier import Notifier
from tinystack.common.policy import Policy
from tinystack.common.service import BootstrapInfo, Runtime, ServiceSpec
from tinystack.identity import conf as identity_conf
from tinystack.identity import policies
from tinystack.identity.api import errors
from tinystack.identity.api.router import include_routes
from tinystack.identity.services import bootstrap, revoke, saml2
from tinystack.identity.services.deps import Deps


class IdentityService(ServiceSpec):
    name = "identity"
    service_type = "identity"
    catalog_name = "keystone"
    default_port = 5000
    url_suffix = "/v3"
    migrations = "tinystack.identity.migrations"

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        identity_conf.register_opts(conf)

    def deps(self, runtime: Runtime) -> Deps:
        deps: Deps | None = runtime.extra.get("identity")
        if deps is None:
            assert runtime.db is not None
            deps = Deps(
                opts=identity_conf.Options.from_conf(runtime.conf),
                db=runtime.db,
                codec=runtime.token_codec,
                revocations=runtime.revocations,
                notifier=Notifier.own_transport(runtime.conf, f"identity.{socket.gethostname()}"),
            )
            revoke.load(deps)
            # As keystone-manage credential_setup, on first start.
            deps.credential_keys.setup()
            # The Keystone-to-Keystone signing pair ([saml] certfile/keyfile).
            saml2.setup_keys(deps.opts.saml_certfile, deps.opts.saml_keyfile)
            runtime.extra["identity"] = deps
        return deps

    def create_app(self, runtime: Runtime) -> FastAPI:
        deps = self.deps(runtime)
        app = create_app(
            title="tinystack identity",
            version="3.14",
            style="identity",
            state={
                "identity": deps,
                "service_type": self.service_type,
                "token_codec": runtime.token_codec,
                "revocations": runtime.revocations,
                "policy": Policy(
                    runtime.conf, policies.list_rules(), deps.opts.policy_file or None
                ),
            },
        )
        include_routes(app)
        errors.install(app)
        return app

    def bootstrap(self, runtime: Runtime, info: BootstrapInfo) -> None:
        bootstrap.bootstrap(self.deps(runtime), info)

    def stop(self, runtime: Runtime) -> None:
        deps = runtime.extra.get("identity")
        if isinstance(deps, Deps):
            deps.notifier.close()


SERVICE = IdentityService()
