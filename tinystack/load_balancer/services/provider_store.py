"""The provider agent's store (``agent/store.ProviderStore``), from the service layer."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.timeutils import parse_isotime, utcnow
from tinystack.load_balancer import models
from tinystack.load_balancer.services import _tree
from tinystack.load_balancer.services.deps import Deps
from tinystack.load_balancer.specs import (
    HealthReport,
    ListenerCounters,
    ListenerSpec,
    LoadBalancerSpec,
    MemberSpec,
    MonitorSpec,
    PolicySpec,
    PoolSpec,
    RuleSpec,
)

LOG = logging.getLogger(__name__)
CHILDREN: tuple[Any, ...] = (
    models.L7Rule,
    models.L7Policy,
    models.HealthMonitor,
    models.Member,
    models.Pool,
    models.Listener,
)
LIVE = _tree.PENDING_DELETE


def _rows(session: Session, model: Any, lb_id: str) -> list[Any]:
    query = (
        sa.select(model)
        .where(
            model.load_balancer_id == lb_id,
            model.provisioning_status != LIVE,
        )
        .order_by(model.created_at, model.id)
    )
    return list(session.scalars(query))


def _pool(
    pool: models.Pool, members: list[models.Member], monitors: dict[str, models.HealthMonitor]
) -> PoolSpec:
    hm = monitors.get(pool.id)
    persistence = pool.session_persistence or {}
    return PoolSpec(
        id=pool.id,
        protocol=pool.protocol,
        lb_algorithm=pool.lb_algorithm,
        persistence_type=persistence.get("type"),
        cookie_name=persistence.get("cookie_name"),
        enabled=pool.admin_state_up,
        members=tuple(
            MemberSpec(
                m.id,
                m.address,
                m.protocol_port,
                m.weight,
                m.backup,
                m.admin_state_up,
                m.monitor_address,
                m.monitor_port,
            )
            for m in members
            if m.pool_id == pool.id
        ),
        monitor=None
        if hm is None or not hm.admin_state_up
        else MonitorSpec(
            hm.type,
            hm.delay,
            hm.timeout,
            hm.max_retries,
            hm.max_retries_down,
            hm.http_method or "GET",
            hm.url_path or "/",
            hm.expected_codes or "200",
            hm.domain_name,
        ),
    )


class ProviderStore:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def spec(self, lb_id: str) -> LoadBalancerSpec | None:
        with self.deps.db.reader() as session:
            lb = session.get(models.LoadBalancer, lb_id)
            if lb is None:
                return None
            members = _rows(session, models.Member, lb_id)
            monitors = {h.pool_id: h for h in _rows(session, models.HealthMonitor, lb_id)}
            pools = [_pool(p, members, monitors) for p in _rows(session, models.Pool, lb_id)]
            rules = _rows(session, models.L7Rule, lb_id)
            policies = sorted(_rows(session, models.L7Policy, lb_id), key=lambda p: p.position)
            listeners = []
            for li in _rows(session, models.Listener, lb_id):
                mine = tuple(
                    PolicySpec(
                        p.id,
                        p.action,
                        p.redirect_pool_id,
                        p.redirect_url,
                        p.redirect_prefix,
                        p.redirect_http_code or 302,
                        tuple(
                            RuleSpec(r.type, r.compare_type, r.key, r.value, r.invert)
                            for r in rules
                            if r.l7policy_id == p.id and r.admin_state_up
                        ),
                    )
                    for p in policies
                    if p.listener_id == li.id and p.admin_state_up
                )
                listeners.append(
                    ListenerSpec(
                        li.id,
                        li.protocol,
                        li.protocol_port,
                        li.connection_limit,
                        li.default_pool_id,
                        li.timeout_client_data,
                        li.timeout_member_connect,
                        li.timeout_member_data,
                        tuple(sorted((li.insert_headers or {}).items())),
                        tuple(li.allowed_cidrs or ()),
                        mine,
                        li.admin_state_up,
                    )
                )
            return LoadBalancerSpec(
                id=lb.id,
                provider=lb.provider,
                vip_address=lb.vip_address,
                vip_port_id=lb.vip_port_id,
                vip_mac=lb.vip_mac,
                vip_prefixlen=lb.vip_prefixlen,
                vip_gateway=lb.vip_gateway,
                vip_mtu=lb.vip_mtu,
                enabled=lb.admin_state_up,
                listeners=tuple(listeners),
                pools=tuple(pools),
            )

    def applied(self, lb_id: str) -> None:
        def tx(session: Session) -> None:
            lb = session.get(models.LoadBalancer, lb_id)
            if lb is None or lb.provisioning_status == _tree.PENDING_DELETE:
                return
            now = utcnow()
            for model in CHILDREN:
                session.execute(
                    sa.delete(model).where(
                        model.load_balancer_id == lb_id, model.provisioning_status == LIVE
                    )
                )
                for row in session.scalars(
                    sa.select(model).where(
                        model.load_balancer_id == lb_id,
                        model.provisioning_status.in_(
                            (_tree.PENDING_CREATE, _tree.PENDING_UPDATE, _tree.ERROR)
                        ),
                    )
                ):
                    row.provisioning_status = _tree.ACTIVE
                    row.updated_at = now
                    if row.operating_status == _tree.OFFLINE and row.admin_state_up:
                        row.operating_status = _initial(row, session)
                    elif not row.admin_state_up:
                        row.operating_status = _tree.OFFLINE
            lb.provisioning_status = _tree.ACTIVE
            lb.operating_status = _tree.ONLINE if lb.admin_state_up else _tree.OFFLINE
            lb.updated_at = now

        self.deps.db.write(tx)
        self.deps.changed(lb_id)

    def failed(self, lb_id: str, reason: str) -> None:
        LOG.error("load balancer %s: %s", lb_id, reason)

        def tx(session: Session) -> None:
            everything: tuple[Any, ...] = (*CHILDREN, models.LoadBalancer)
            for model in everything:
                column = (
                    models.LoadBalancer.id
                    if model is models.LoadBalancer
                    else model.load_balancer_id
                )
                session.execute(
                    sa.update(model)
                    .where(column == lb_id, model.provisioning_status.like("PENDING_%"))
                    .values(provisioning_status=_tree.ERROR, operating_status=_tree.ERROR)
                )

        self.deps.db.write(tx)

    def deleted(self, lb_id: str) -> None:
        with self.deps.db.reader() as session:
            lb = session.get(models.LoadBalancer, lb_id)
            port_id, owned = (lb.vip_port_id, lb.owns_port) if lb is not None else ("", False)
        if port_id:
            try:
                if owned:
                    self.deps.network.delete_port(port_id)
                else:
                    self.deps.network.update_port(
                        port_id, {"device_owner": "", "device_id": "", "binding:host_id": ""}
                    )
            except Exception:  # the port may be gone with its network
                LOG.exception("releasing VIP port %s of %s failed", port_id, lb_id)

        def tx(session: Session) -> None:
            for model in CHILDREN:
                session.execute(sa.delete(model).where(model.load_balancer_id == lb_id))
            session.execute(sa.delete(models.LoadBalancer).where(models.LoadBalancer.id == lb_id))

        self.deps.db.write(tx)

    def release_orphans(self, host: str, before: float) -> list[str]:
        """VIP ports of ``host`` made (or bound) before ``before`` (epoch seconds) for a
        load balancer whose row was never committed: the process died between the two.
        The service's own (``octavia-lb-<id>``) are deleted, a port the user gave is
        released; their ids."""
        ports = self.deps.network.list_ports(device_owner="Octavia")
        with self.deps.db.reader() as session:
            known = set(session.scalars(sa.select(models.LoadBalancer.id)))
        found = []
        for port in ports:
            lb_id = str(port.get("device_id", "")).removeprefix("lb-")
            stamp = port.get("updated_at") or port.get("created_at") or ""
            if port.get("binding:host_id") != host or lb_id in known or not stamp:
                continue
            if parse_isotime(stamp).timestamp() >= before:
                continue  # a create under way in this process
            if port.get("name") == f"octavia-lb-{lb_id}":
                self.deps.network.delete_port(port["id"])
            else:
                self.deps.network.update_port(
                    port["id"], {"device_owner": "", "device_id": "", "binding:host_id": ""}
                )
            found.append(str(port["id"]))
        return found

    def hosted(self, host: str, provider: str) -> list[str]:
        return self._on(host, provider, deleting=False)

    def deleting(self, host: str, provider: str) -> list[str]:
        return self._on(host, provider, deleting=True)

    def _on(self, host: str, provider: str, *, deleting: bool) -> list[str]:
        status = models.LoadBalancer.provisioning_status
        with self.deps.db.reader() as session:
            query = sa.select(models.LoadBalancer.id).where(
                models.LoadBalancer.host == host,
                models.LoadBalancer.provider == provider,
                status == _tree.PENDING_DELETE if deleting else status != _tree.PENDING_DELETE,
            )
            return list(session.scalars(query))

    def report(self, lb_id: str, report: HealthReport) -> None:
        def tx(session: Session) -> None:
            health = dict(report.members)
            members = _rows(session, models.Member, lb_id)
            for m in members:
                wanted = health.get(m.id, _tree.OFFLINE) if m.admin_state_up else _tree.OFFLINE
                if m.operating_status != wanted:
                    m.operating_status = wanted
            for pool in _rows(session, models.Pool, lb_id):
                mine = [
                    m.operating_status for m in members if m.pool_id == pool.id and m.admin_state_up
                ]
                pool.operating_status = _rollup(pool.admin_state_up, mine)
            for counters in report.listeners:
                _count(session, counters)
            lb = session.get(models.LoadBalancer, lb_id)
            if lb is not None and lb.admin_state_up and lb.provisioning_status == _tree.ACTIVE:
                lb.operating_status = _tree.ONLINE if report.running else _tree.ERROR

        self.deps.db.write(tx)


def _rollup(enabled: bool, members: list[str]) -> str:
    if not enabled:
        return _tree.OFFLINE
    if members and all(s == "ERROR" for s in members):
        return "ERROR"
    if any(s == "ERROR" for s in members):
        return "DEGRADED"
    return _tree.ONLINE


def _initial(row: object, session: Session) -> str:
    """A freshly active object's operating status before HAProxy reported anything."""
    if isinstance(row, models.Member):
        monitored = session.scalar(
            sa.select(models.HealthMonitor.id).where(models.HealthMonitor.pool_id == row.pool_id)
        )
        return _tree.OFFLINE if monitored else "NO_MONITOR"
    if isinstance(row, models.Pool):
        # a pool no listener uses carries no traffic (Octavia: OFFLINE)
        return _tree.ONLINE if row.listener_id else _tree.OFFLINE
    return _tree.ONLINE


def _count(session: Session, counters: ListenerCounters) -> None:
    """Add what a listener's counters grew by since the last read (all of them when the
    HAProxy process changed: a reload or restart starts them at zero)."""
    row = session.get(models.ListenerStats, counters.listener_id)
    if row is None:
        if session.get(models.Listener, counters.listener_id) is None:
            return
        row = models.ListenerStats(
            listener_id=counters.listener_id,
            bytes_in=0,
            bytes_out=0,
            active_connections=0,
            total_connections=0,
            request_errors=0,
            last_pid=0,
            last_bytes_in=0,
            last_bytes_out=0,
            last_total_connections=0,
            last_request_errors=0,
        )
        session.add(row)
    same = row.last_pid == counters.pid
    for name in ("bytes_in", "bytes_out", "total_connections", "request_errors"):
        raw, last = getattr(counters, name), getattr(row, "last_" + name)
        grown = raw - last if same and raw >= last else raw
        if grown:
            setattr(row, name, getattr(row, name) + grown)
        setattr(row, "last_" + name, raw)
    row.last_pid = counters.pid
    row.active_connections = counters.active_connections
