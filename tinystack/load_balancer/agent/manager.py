"""The provider agent of one host: the RPC endpoint (``rpcapi.ProviderAgentAPI``), the
loop that reads every HAProxy's health, and the start-up sync that adopts or rebuilds.

``haproxy``: each load balancer is a namespace (``<prefix><id>``) holding its VIP port
and an HAProxy (``haproxy.py``) whose files are in ``<state>/lbaas/<id>/``.
``noop_driver``: Octavia's no-op provider: the API objects go ACTIVE with no data plane
(what runs when this host has none; its load balancers say so by their provider).

On start the agent converges every load balancer of this host: a running HAProxy whose
pid file and command line match is kept (reloaded only if its configuration changed),
a dead one is started again, so a restart never duplicates processes; a delete left
unfinished (PENDING_DELETE: the process was killed, or the cast lost) is finished, and
a VIP port made for a load balancer whose row a kill prevented is deleted (or released);
namespaces and directories of load balancers that no longer exist are removed.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

from tinystack.common.rpc import RPCServer, Target, Transport
from tinystack.common.rpc.payload import JSON
from tinystack.load_balancer import rpcapi
from tinystack.load_balancer.agent import namespace as netns
from tinystack.load_balancer.agent.haproxy import HAProxy, health
from tinystack.load_balancer.agent.store import ProviderStore
from tinystack.load_balancer.specs import HealthReport, LoadBalancerSpec

LOG = logging.getLogger(__name__)


class ProviderAgent:
    target = Target(rpcapi.TOPIC, version=rpcapi.VERSION)

    def __init__(
        self,
        store: ProviderStore,
        host: str,
        state_dir: Path,
        *,
        dataplane: bool,
        prefix: str,
        binary: str,
        interval: float,
    ) -> None:
        self.store = store
        self.host = host
        self.root = state_dir / "lbaas"
        self.dataplane = dataplane
        self.prefix = prefix
        self.binary = binary
        self.interval = interval
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._stopping = threading.Event()
        self._server: RPCServer | None = None
        #: when this agent began: a VIP port older than that without its load balancer's
        #: row is an orphan of a killed create (a younger one may be a create under way)
        self._born = time.time()
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, transport: Transport) -> None:
        self._server = RPCServer(transport, Target(rpcapi.TOPIC, server=self.host), [self], 4)
        self._server.start()
        threading.Thread(target=self.sync, name="lbaas-sync", daemon=True).start()
        if self.dataplane:
            self._thread = threading.Thread(target=self._watch, name="lbaas-health", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the agent; HAProxies keep serving (a restarted agent adopts them)."""
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
            self._server.wait()

    def sync(self) -> None:
        for provider in ("haproxy", "noop_driver"):
            for lb_id in self.store.deleting(self.host, provider):
                self.delete({}, lb_id)  # else PENDING_DELETE forever (its cast is gone)
            for lb_id in self.store.hosted(self.host, provider):
                self.converge(lb_id)
        try:
            for port_id in self.store.release_orphans(self.host, self._born):
                LOG.warning("released VIP port %s of a load balancer never made", port_id)
        except Exception:  # the network may be away: the next start tries again
            LOG.exception("releasing orphaned VIP ports failed")
        if self.dataplane and self.root.exists():
            known = set(self.store.hosted(self.host, "haproxy"))
            for directory in self.root.iterdir():
                if directory.name not in known:
                    self._teardown(directory.name, "")

    # -- RPC endpoint ---------------------------------------------------------------------
    def refresh(self, ctxt: dict[str, JSON], loadbalancer_id: str) -> None:
        self.converge(loadbalancer_id)

    def delete(self, ctxt: dict[str, JSON], loadbalancer_id: str) -> None:
        with self._lock(loadbalancer_id):
            spec = self.store.spec(loadbalancer_id)
            if spec is not None and spec.provider == "haproxy":
                self._teardown(loadbalancer_id, spec.vip_port_id)
            self.store.deleted(loadbalancer_id)

    def failover(self, ctxt: dict[str, JSON], loadbalancer_id: str) -> None:
        with self._lock(loadbalancer_id):
            spec = self.store.spec(loadbalancer_id)
            if spec is not None and spec.provider == "haproxy":
                self._teardown(loadbalancer_id, spec.vip_port_id)
        self.converge(loadbalancer_id)

    # -- one load balancer ----------------------------------------------------------------
    def _lock(self, lb_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(lb_id, threading.Lock())

    def namespace(self, lb_id: str) -> str:
        return self.prefix + lb_id

    def haproxy(self, lb_id: str) -> HAProxy:
        return HAProxy(self.binary, self.root / lb_id, self.namespace(lb_id))

    def converge(self, lb_id: str) -> None:
        with self._lock(lb_id):
            spec = self.store.spec(lb_id)
            if spec is None:
                return
            try:
                self._build(spec)
            except Exception as exc:  # any failure leaves the LB in ERROR, with the reason logged
                LOG.exception("building load balancer %s failed", lb_id)
                self.store.failed(lb_id, str(exc))
                return
            self.store.applied(lb_id)

    def _build(self, spec: LoadBalancerSpec) -> None:
        if spec.provider == "noop_driver":
            return
        if not self.dataplane:
            raise RuntimeError("this host has no data plane for the haproxy provider")
        netns.plug(self.namespace(spec.id), spec)
        proxy = self.haproxy(spec.id)
        if proxy.pids():  # a reload may follow: keep the old process's last counters
            self._read_health(spec.id, spec)
        proxy.ensure(spec)

    def _teardown(self, lb_id: str, port_id: str) -> None:
        proxy = self.haproxy(lb_id)
        proxy.stop()
        if port_id:
            netns.unplug(self.namespace(lb_id), port_id)
        elif self.namespace(lb_id) in netns.namespaces():
            netns.unplug(self.namespace(lb_id), "")
        shutil.rmtree(proxy.directory, ignore_errors=True)

    # -- health ---------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                for lb_id in self.store.hosted(self.host, "haproxy"):
                    self._report(lb_id)
            except Exception:  # keep watching
                LOG.exception("reading load balancer health failed")

    def _report(self, lb_id: str) -> None:
        lock = self._lock(lb_id)
        if not lock.acquire(blocking=False):
            return
        try:
            spec = self.store.spec(lb_id)
            if spec is None:
                return
            self._read_health(lb_id, spec)
        finally:
            lock.release()

    def _read_health(self, lb_id: str, spec: LoadBalancerSpec) -> None:
        """HAProxy's member states and counters, stored (the caller holds the LB's lock)."""
        try:
            members, listeners = health(self.haproxy(lb_id).stats(), spec)
            running = True
        except OSError:
            members, listeners, running = (), (), False
        self.store.report(lb_id, HealthReport(members, listeners, running))
