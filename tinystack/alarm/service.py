"""The alarm service: what the deployment needs to run it (composition root)."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from oslo_config import cfg

from tinystack.alarm import conf as alarm_conf
from tinystack.alarm import policies
from tinystack.alarm.api.router import TrailingSlash, include_routes
from tinystack.alarm.evaluator.events import EventListener
from tinystack.alarm.evaluator.notifier import Notifier
from tinystack.alarm.evaluator.statistics import Statistics
from tinystack.alarm.evaluator.threshold import Evaluator
from tinystack.alarm.services.deps import Deps
from tinystack.common.api.app import create_app
from tinystack.common.clients.session import Session
from tinystack.common.policy import Policy
from tinystack.common.rpc import Transport, get_transport
from tinystack.common.service import Runtime, ServiceSpec

LOG = logging.getLogger(__name__)
_DEPS, _WORKERS = "alarm", "alarm-workers"


def build_deps(runtime: Runtime) -> Deps:
    found: Deps | None = runtime.extra.get(_DEPS)
    if found is None:
        if runtime.db is None:
            raise RuntimeError("the alarm service needs its database")
        identity = None
        if runtime.credentials is not None and runtime.auth_url:
            identity = Session(runtime.auth_url, runtime.credentials, runtime.catalog)
        opts = alarm_conf.Options.from_conf(runtime.conf)
        found = Deps(db=runtime.db, opts=opts, identity=identity)
        runtime.extra[_DEPS] = found
    return found


class AlarmService(ServiceSpec):
    name = "alarm"
    service_type = "alarming"
    catalog_name = "aodh"
    default_port = 8042
    url_suffix = ""
    migrations = "tinystack.alarm.migrations"

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        alarm_conf.register_opts(conf)

    def create_app(self, runtime: Runtime) -> FastAPI:
        self.register_opts(runtime.conf)
        deps = build_deps(runtime)
        state = {
            "token_codec": runtime.token_codec,
            "revocations": runtime.revocations,
            "policy": Policy(runtime.conf, policies.list_rules(), deps.opts.policy_file or None),
            "deps": deps,
        }
        app = create_app(title="tinystack alarm", version="2.0", style="alarm", state=state)
        include_routes(app)
        app.add_middleware(TrailingSlash)
        return app

    def start(self, runtime: Runtime) -> None:
        deps = build_deps(runtime)
        if runtime.credentials is None:
            return
        session = Session(runtime.auth_url, runtime.credentials, runtime.catalog)
        notifier = Notifier(deps.opts, session)
        workers: list[object] = [notifier, session]
        if deps.opts.evaluator:
            statistics = Statistics(session, deps.opts.additional_ingestion_lag)
            evaluator = Evaluator(deps, statistics, notifier)
            evaluator.start()
            workers.append(evaluator)
        if deps.opts.event_alarms:
            transport = get_transport(runtime.conf.transport_url)
            listener = EventListener(deps, transport, notifier)
            listener.start()
            workers += [listener, transport]
        runtime.extra[_WORKERS] = workers

    def stop(self, runtime: Runtime) -> None:
        for worker in reversed(runtime.extra.pop(_WORKERS, [])):
            if isinstance(worker, Evaluator | EventListener):
                worker.stop()
            elif isinstance(worker, Notifier):
                worker.close()
            elif isinstance(worker, Transport | Session):
                worker.close()
        deps: Deps | None = runtime.extra.pop(_DEPS, None)
        if deps is not None and deps.identity is not None:
            deps.identity.close()


SERVICE = AlarmService()
