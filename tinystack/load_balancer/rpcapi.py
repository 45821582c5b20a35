"""Typed RPC client of the provider agent (``agent/manager.py``), topic ``octavia-provider``.

* 1.0: refresh(loadbalancer_id) — build or update the load balancer's data plane to what
  the database says, then mark it and its pending children ACTIVE (or ERROR);
  delete(loadbalancer_id) — tear it down, release the VIP port, remove the rows;
  failover(loadbalancer_id) — tear down and rebuild.

Casts, to ``server=<host>``: the host whose agent holds the load balancer's namespace.
"""

from __future__ import annotations

from tinystack.common.rpc import RPCClient, Target, Transport
from tinystack.common.rpc.payload import JSON

TOPIC = "octavia-provider"
VERSION = "1.0"


class ProviderAgentAPI:
    def __init__(self, transport: Transport) -> None:
        self.client = RPCClient(transport, Target(TOPIC, version=VERSION))

    def _cast(self, ctxt: dict[str, JSON], host: str, method: str, lb_id: str) -> None:
        self.client.prepare(server=host).cast(ctxt, method, loadbalancer_id=lb_id)

    def refresh(self, ctxt: dict[str, JSON], host: str, lb_id: str) -> None:
        self._cast(ctxt, host, "refresh", lb_id)

    def delete(self, ctxt: dict[str, JSON], host: str, lb_id: str) -> None:
        self._cast(ctxt, host, "delete", lb_id)

    def failover(self, ctxt: dict[str, JSON], host: str, lb_id: str) -> None:
        self._cast(ctxt, host, "failover", lb_id)
