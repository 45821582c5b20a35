"""The load balancer service as the deployment sees it: options, app, the provider agent."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
from typing import Any

from fastapi import FastAPI
from oslo_config import cfg

from tinystack.common import config
from tinystack.common.api.app import create_app
from tinystack.common.clients.session import Session
from tinystack.common.policy import Policy
from tinystack.common.service import Runtime, ServiceSpec
from tinystack.load_balancer import conf as lb_conf
from tinystack.load_balancer import policies
from tinystack.load_balancer.agent.manager import ProviderAgent
from tinystack.load_balancer.api.deps import STATE_KEY
from tinystack.load_balancer.api.router import router
from tinystack.load_balancer.api.version_alias import VersionAlias
from tinystack.load_balancer.services.deps import Deps
from tinystack.load_balancer.services.provider_store import ProviderStore

LOG = logging.getLogger(__name__)
AGENT_KEY = "load_balancer_agent"


def probe(opts: lb_conf.Options, runtime: Runtime) -> tuple[bool, str]:
    """Whether this host runs HAProxy in namespaces (the haproxy provider), and why."""
    if opts.dataplane == "none":
        return False, "dataplane = none"
    missing = [t for t in ("ip", opts.haproxy_binary) if shutil.which(t) is None]
    if os.geteuid() != 0 or missing:
        reason = "not root" if os.geteuid() != 0 else "missing " + ", ".join(missing)
        if opts.dataplane == "linux":
            return True, f"dataplane = linux although {reason}: load balancers will fail"
        return False, f"dataplane = auto: {reason}"
    if not runtime.auth_url:
        return False, "dataplane = auto: not part of a deployment (no identity URL)"
    return True, "root with iproute2 and haproxy"


class LoadBalancerService(ServiceSpec):
    name = "load_balancer"
    service_type = "load-balancer"
    catalog_name = "octavia"
    default_port = 9876
    url_suffix = ""
    migrations = "tinystack.load_balancer.migrations"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        lb_conf.register_opts(conf)

    def deps(self, runtime: Runtime) -> Deps:
        with self._lock:
            found: Deps | None = runtime.extra.get(STATE_KEY)
            if found is None:
                if runtime.db is None:
                    raise RuntimeError("the load balancer service needs its database")
                self.register_opts(runtime.conf)
                opts = lb_conf.Options.from_conf(runtime.conf)
                dataplane, reason = probe(opts, runtime)
                LOG.info(
                    "load balancer data plane: %s (%s)", "haproxy" if dataplane else "none", reason
                )
                found = Deps(
                    db=runtime.db,
                    opts=opts,
                    session=Session(runtime.auth_url, runtime.credentials, runtime.catalog),
                    transport_url=runtime.conf.transport_url,
                    host=opts.host or socket.gethostname(),
                    providers=("haproxy", "noop_driver") if dataplane else ("noop_driver",),
                )
                runtime.extra[STATE_KEY] = found
            return found

    def create_app(self, runtime: Runtime) -> FastAPI:
        deps = self.deps(runtime)
        app = create_app(
            title="tinystack load balancer",
            version="2.27",
            style="load_balancer",
            state={
                "token_codec": runtime.token_codec,
                "revocations": runtime.revocations,
                "policy": Policy(
                    runtime.conf, policies.list_rules(), deps.opts.policy_file or None
                ),
                STATE_KEY: deps,
            },
        )
        app.include_router(router)
        app.add_middleware(VersionAlias)
        return app

    def start(self, runtime: Runtime) -> None:
        deps = self.deps(runtime)
        agent = ProviderAgent(
            ProviderStore(deps),
            deps.host,
            config.state_dir(runtime.conf),
            dataplane="haproxy" in deps.providers,
            prefix=deps.opts.namespace_prefix,
            binary=deps.opts.haproxy_binary,
            interval=deps.opts.health_interval,
        )
        agent.start(deps.transport)
        runtime.extra[AGENT_KEY] = agent

    def stop(self, runtime: Runtime) -> None:
        agent: ProviderAgent | None = runtime.extra.pop(AGENT_KEY, None)
        if agent is not None:
            agent.stop()
        deps: Any = runtime.extra.pop(STATE_KEY, None)
        if deps is not None:
            deps.close()


SERVICE = LoadBalancerService()
