"""The metric service: what the deployment needs to run it (composition root)."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from oslo_config import cfg

from tinystack.common.api.app import create_app
from tinystack.common.clients.metric import MetricClient
from tinystack.common.clients.session import Session
from tinystack.common.policy import Policy
from tinystack.common.rpc import Transport, get_transport
from tinystack.common.service import BootstrapInfo, Runtime, ServiceSpec
from tinystack.metric import conf as metric_conf
from tinystack.metric import policies
from tinystack.metric.agents.notification import NotificationAgent
from tinystack.metric.api.router import TrailingSlash, include_routes
from tinystack.metric.metricd import Metricd
from tinystack.metric.services import archive_policies, resource_types
from tinystack.metric.services.deps import Deps

LOG = logging.getLogger(__name__)
_DEPS, _WORKERS, _METRICD = "metric", "metric-workers", "metric-metricd"


def build_deps(runtime: Runtime) -> Deps:
    found: Deps | None = runtime.extra.get(_DEPS)
    if found is None:
        if runtime.db is None:
            raise RuntimeError("the metric service needs its database")
        found = Deps(db=runtime.db, opts=metric_conf.Options.from_conf(runtime.conf))
        runtime.extra[_DEPS] = found
    return found


def _streams(method: str, path: str) -> bool:
    """Measures are bulk data (Gnocchi has no body limit on them)."""
    return method == "POST" and path.endswith("/measures")


class MetricService(ServiceSpec):
    name = "metric"
    service_type = "metric"
    catalog_name = "gnocchi"
    default_port = 8041
    url_suffix = ""
    migrations = "tinystack.metric.migrations"

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        metric_conf.register_opts(conf)

    def create_app(self, runtime: Runtime) -> FastAPI:
        self.register_opts(runtime.conf)
        deps = build_deps(runtime)
        state = {
            "token_codec": runtime.token_codec,
            "revocations": runtime.revocations,
            "policy": Policy(runtime.conf, policies.list_rules(), deps.opts.policy_file or None),
            "deps": deps,
        }
        app = create_app(
            title="tinystack metric",
            version="1.0",
            style="metric",
            state=state,
            streams=_streams,
            own_metrics=True,
        )
        include_routes(app)
        app.add_middleware(TrailingSlash)
        return app

    def bootstrap(self, runtime: Runtime, info: BootstrapInfo) -> None:
        deps = build_deps(runtime)
        archive_policies.ensure_defaults(deps)
        resource_types.ensure_defaults(deps)

    def start(self, runtime: Runtime) -> None:
        deps = build_deps(runtime)
        metricd = Metricd(deps)
        metricd.start()
        runtime.extra[_METRICD] = metricd
        if not deps.opts.notification_agent or runtime.credentials is None:
            return
        transport = get_transport(runtime.conf.transport_url)
        session = Session(runtime.auth_url, runtime.credentials, runtime.catalog)
        agent = NotificationAgent(transport, MetricClient(session))
        agent.start()
        runtime.extra[_WORKERS] = (agent, transport, session)

    def stop(self, runtime: Runtime) -> None:
        metricd = runtime.extra.pop(_METRICD, None)
        if isinstance(metricd, Metricd):
            metricd.stop()
        workers = runtime.extra.pop(_WORKERS, None)
        if workers is None:
            return
        agent, transport, session = workers
        if isinstance(agent, NotificationAgent):
            agent.stop()
        if isinstance(transport, Transport):
            transport.close()
        if isinstance(session, Session):
            session.close()


SERVICE = MetricService()
