"""Pools: an algorithm, session persistence, members and at most one health monitor."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.load_balancer import exception, models
from tinystack.load_balancer.policies import pool as rules
from tinystack.load_balancer.services import _provisioning, _tree
from tinystack.load_balancer.services.deps import Deps
from tinystack.load_balancer.services.inputs import ListPage, PoolCreate, PoolUpdate
from tinystack.load_balancer.services.records import PoolRecord, of

#: the listener protocols each pool protocol may serve (Octavia's compatibility table)
COMPATIBLE = {
    "HTTP": {"HTTP", "TERMINATED_HTTPS"},
    "HTTPS": {"HTTPS", "TCP"},
    "TCP": {"TCP", "HTTP", "HTTPS", "TERMINATED_HTTPS"},
    "PROXY": {"HTTP", "TCP", "HTTPS"},
    "PROXYV2": {"HTTP", "TCP", "HTTPS"},
    "UDP": {"UDP"},
    "SCTP": {"SCTP"},
}


def record(session: Session, row: models.Pool) -> PoolRecord:
    members = _tree.child_ids(session, models.Member, models.Member.pool_id, row.id)
    monitor = session.scalar(
        sa.select(models.HealthMonitor.id).where(
            models.HealthMonitor.pool_id == row.id,
            models.HealthMonitor.provisioning_status != _tree.PENDING_DELETE,
        )
    )
    return of(PoolRecord, row, member_ids=members, healthmonitor_id=monitor)


def _persistence(req: PoolCreate | PoolUpdate) -> dict[str, object] | None:
    sp = req.session_persistence
    if sp is None:
        return None
    if sp.type == "APP_COOKIE" and not sp.cookie_name:
        raise exception.InvalidOption("Cookie names are required for APP_COOKIE persistence.")
    if sp.type != "APP_COOKIE" and sp.cookie_name:
        raise exception.InvalidOption(f"Cookie names are not supported for {sp.type} persistence.")
    return {
        "type": sp.type,
        "cookie_name": sp.cookie_name,
        "persistence_timeout": sp.persistence_timeout,
        "persistence_granularity": sp.persistence_granularity,
    }


def create(deps: Deps, ctx: RequestContext, req: PoolCreate) -> PoolRecord:
    if req.members or req.healthmonitor:
        raise exception.ProviderUnsupported("haproxy", "single-call create of a pool's members")
    if not req.loadbalancer_id and not req.listener_id:
        raise exception.InvalidOption("loadbalancer_id or listener_id must be specified.")

    def tx(session: Session) -> tuple[PoolRecord, str]:
        listener = None
        if req.listener_id:
            listener = _tree.load(session, models.Listener, req.listener_id, "Listener")
            if listener.default_pool_id:
                raise exception.Duplicate("Pool", f"listener {listener.id}")
            if listener.protocol not in COMPATIBLE.get(req.protocol, set()):
                raise exception.InvalidOption(
                    f"The pool protocol '{req.protocol}' is invalid while the listener "
                    f"protocol is '{listener.protocol}'."
                )
        lb_id = req.loadbalancer_id or (listener.load_balancer_id if listener else "")
        if listener is not None and listener.load_balancer_id != lb_id:
            raise exception.InvalidOption("Listener and pool are on different load balancers.")
        lb = _tree.load(session, models.LoadBalancer, lb_id, "Load Balancer")
        project = _tree.creating_project(ctx, rules.POST, req.project_id or lb.project_id)
        # UDP and SCTP are LVS upstream: not HAProxy's (the no-op provider takes them)
        if lb.provider == "haproxy" and req.protocol in ("UDP", "SCTP"):
            raise exception.ProviderUnsupported(lb.provider, f"protocol {req.protocol}")
        _tree.check_quota(session, deps, project, "pool", models.Pool, "Pool")
        persistence = _persistence(req)
        _tree.lock_lb(session, lb.id)
        row = models.Pool(
            listener_id=req.listener_id,
            protocol=req.protocol,
            lb_algorithm=req.lb_algorithm,
            session_persistence=persistence,
            name=req.name or "",
            description=req.description or "",
        )
        _tree.add_pending(session, row, project, lb.id, req)
        if listener is not None:
            listener.default_pool_id = row.id
        return record(session, row), lb.host

    return _provisioning.write_and_refresh(deps, ctx, tx)


def get(deps: Deps, ctx: RequestContext, pool_id: str) -> PoolRecord:
    with deps.db.reader() as session:
        row = _tree.load(session, models.Pool, pool_id, "Pool")
        _tree.authorize(ctx, rules.GET_ONE, row)
        return record(session, row)


def list_(deps: Deps, ctx: RequestContext, page: ListPage) -> list[PoolRecord]:
    with deps.db.reader() as session:
        found = _tree.listed(session, ctx, models.Pool, rules, page)
        return [record(session, r) for r in found]


def _pool(session: Session, pool_id: str) -> models.Pool:
    return _tree.load(session, models.Pool, pool_id, "Pool", lock=True)


def update(deps: Deps, ctx: RequestContext, pool_id: str, req: PoolUpdate) -> PoolRecord:
    def change(_session: Session, row: models.Pool) -> None:
        for name in ("name", "description", "admin_state_up", "tags", "lb_algorithm"):
            value = getattr(req, name)
            if name in req.model_fields_set and value is not None:
                setattr(row, name, value)
        if "session_persistence" in req.model_fields_set:
            row.session_persistence = _persistence(req)

    return _provisioning.update(
        deps, ctx, rules.PUT, lambda session: _pool(session, pool_id), change, record
    )


def delete(deps: Deps, ctx: RequestContext, pool_id: str) -> None:
    def cascade(session: Session, row: models.Pool) -> None:
        used = session.scalar(
            sa.select(models.L7Policy.id).where(models.L7Policy.redirect_pool_id == pool_id)
        )
        if used:
            raise exception.InvalidOption(f"Pool {pool_id} is used by L7 policy {used}.")
        _tree.mark_children(session, (models.Member, models.HealthMonitor), "pool_id", pool_id)

    _provisioning.delete(
        deps, ctx, rules.DELETE, lambda session: _pool(session, pool_id), cascade=cascade
    )
