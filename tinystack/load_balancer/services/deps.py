"""Deps: the database, options, the network client and the provider agent's RPC API."""

from __future__ import annotations

from dataclasses import dataclass

from tinystack.common.clients.network import NetworkClient
from tinystack.common.db import Database
from tinystack.common.service_deps import ServiceDeps
from tinystack.load_balancer.conf import Options
from tinystack.load_balancer.rpcapi import ProviderAgentAPI


@dataclass(kw_only=True)
class Deps(ServiceDeps):
    db: Database
    opts: Options
    #: the host whose agent serves new load balancers (this one)
    host: str
    #: providers enabled here: haproxy only with a data plane, noop_driver always
    providers: tuple[str, ...] = ("noop_driver",)

    @property
    def default_provider(self) -> str:
        wanted = self.opts.default_provider
        if wanted:
            return wanted
        return "haproxy" if "haproxy" in self.providers else "noop_driver"

    @property
    def network(self) -> NetworkClient:
        return self._client("network", NetworkClient)

    @property
    def agent(self) -> ProviderAgentAPI:
        return self._client("agent", lambda _s: ProviderAgentAPI(self.transport))
