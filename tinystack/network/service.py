"""The Networking service (Neutron v2.0) as the deployment sees it.

``create_app`` builds the API over the service layer; ``start`` connects the
RPC transport (``[DEFAULT] transport_url``), serves the agent RPC interface,
starts compute notifications, the Linux data plane agents of this host
(``[network] dataplane``: ``auto`` runs them in a deployment, as root with iproute2
and iptables present) and creates the bootstrap networks; ``stop`` undoes it.
"""

from __future__ import annotations

import logging
import socket
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from oslo_config import cfg

from tinystack.common import config
from tinystack.common.api.app import create_app
from tinystack.common.db import Database
from tinystack.common.notifier import Notifier
from tinystack.common.policy import Policy
from tinystack.common.rpc import Transport, get_transport
from tinystack.common.rpc.versions import CapReport, RunningVersion
from tinystack.common.service import Runtime, ServiceSpec
from tinystack.network import conf as network_conf
from tinystack.network import policies
from tinystack.network.api.router import JsonSuffix, include_routes
from tinystack.network.conf import Options
from tinystack.network.notifier import ComputeNotifier, Events, make_compute_notifier
from tinystack.network.rpc import RpcServers
from tinystack.network.services import agent_versions
from tinystack.network.services import bootstrap as bootstrap_networks
from tinystack.network.services.deps import Deps

LOG = logging.getLogger(__name__)
DEPS_KEY = "network.deps"
WORKERS_KEY = "network.workers"


@dataclass
class Workers:
    transport: Transport
    servers: RpcServers
    compute: ComputeNotifier
    dataplane: Any = None


def start_dataplane(runtime: Runtime, transport: Transport) -> Any:
    """The Linux agents of this host when ``[network] dataplane`` asks for them."""
    from tinystack.network.agents import dataplane

    opts = build_deps(runtime).opts
    run, reason = dataplane.probe(str(opts.dataplane))
    if run and opts.dataplane == "auto" and not runtime.auth_url:
        run, reason = False, "dataplane = auto: not part of a deployment (no identity URL)"
    LOG.info("network data plane: %s (%s)", "linux" if run else "none", reason)
    if not run:
        return None
    port = getattr(getattr(runtime.conf, "compute", None), "metadata_listen_port", None) or 8775
    url = str(opts.nova_metadata_url or "") or f"http://{config.public_host(runtime.conf)}:{port}"
    plane = dataplane.DataPlane(
        opts, transport, config.state_dir(runtime.conf) / "network", metadata_url=url
    )
    plane.start()
    return plane


def build_deps(runtime: Runtime) -> Deps:
    """The service layer of this runtime (built once, shared by the app and the workers)."""
    existing = runtime.extra.get(DEPS_KEY)
    if isinstance(existing, Deps):
        return existing
    if runtime.db is None:
        raise RuntimeError("the network service needs its database")
    deps = Deps.build(runtime.db, Options.from_conf(runtime.conf))
    runtime.extra[DEPS_KEY] = deps
    return deps


class NetworkService(ServiceSpec):
    name = "network"
    service_type = "network"
    catalog_name = "neutron"
    default_port = 9696
    url_suffix = ""
    migrations = "tinystack.network.migrations"

    def register_opts(self, conf: cfg.ConfigOpts) -> None:
        network_conf.register_opts(conf)

    def running_versions(self, conf: cfg.ConfigOpts, db: Database) -> list[RunningVersion]:
        return agent_versions.report(db, network_conf.Options.from_conf(conf))

    def version_caps(self, conf: cfg.ConfigOpts, db: Database) -> list[CapReport]:
        return agent_versions.caps(conf, db)

    def create_app(self, runtime: Runtime) -> FastAPI:
        state = {
            "token_codec": runtime.token_codec,
            "revocations": runtime.revocations,
            "policy": Policy(runtime.conf, policies.list_rules()),
            "network": build_deps(runtime),
        }
        app = create_app(title="tinystack network", version="2.0", style="network", state=state)
        include_routes(app)
        app.add_middleware(JsonSuffix)
        return app

    def start(self, runtime: Runtime) -> None:
        deps = build_deps(runtime)
        opts = deps.opts
        transport = get_transport(runtime.conf.transport_url)
        compute = make_compute_notifier(
            runtime.auth_url, runtime.credentials, runtime.catalog, opts.send_events_interval
        )
        deps.events = Events(
            transport,
            compute,
            notify_compute=opts.notify_compute_on_port_status_changes,
            caps=agent_versions.caps_by_agent_type(runtime.conf, deps.db),
        )
        deps.notifier = Notifier.from_conf(
            runtime.conf, lambda: transport, f"network.{socket.gethostname()}"
        )
        servers = RpcServers(transport, deps)
        servers.start()
        compute.start()
        workers = Workers(transport, servers, compute)
        runtime.extra[WORKERS_KEY] = workers
        try:
            workers.dataplane = start_dataplane(runtime, transport)
        except Exception:  # the API still serves without a data plane
            LOG.exception("could not start the network data plane")
        if runtime.auth_url and runtime.credentials is not None:
            try:
                lookup = bootstrap_networks.identity_lookup(runtime.auth_url, runtime.credentials)
                if bootstrap_networks.bootstrap(deps, lookup):
                    LOG.info("created the bootstrap networks")
            except Exception:  # the API still serves without them
                LOG.exception("could not create the bootstrap networks")

    def stop(self, runtime: Runtime) -> None:
        workers = runtime.extra.pop(WORKERS_KEY, None)
        if not isinstance(workers, Workers):
            return
        if workers.dataplane is not None:
            workers.dataplane.stop(cleanup=build_deps(runtime).opts.dataplane_cleanup_on_stop)
        workers.servers.stop()
        workers.compute.stop()
        workers.transport.close()


SERVICE = NetworkService()
