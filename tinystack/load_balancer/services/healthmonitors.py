"""Health monitors: how HAProxy checks a pool's members (HTTP, HTTPS, TCP, PING)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.load_balancer import exception, models
from tinystack.load_balancer.policies import healthmonitor as rules
from tinystack.load_balancer.services import _provisioning, _tree
from tinystack.load_balancer.services.deps import Deps
from tinystack.load_balancer.services.inputs import (
    HealthMonitorCreate,
    HealthMonitorUpdate,
    ListPage,
)
from tinystack.load_balancer.services.records import HealthMonitorRecord, of

SUPPORTED = {"HTTP", "HTTPS", "TCP", "PING", "TLS-HELLO"}
HTTP_TYPES = ("HTTP", "HTTPS")


def record(row: models.HealthMonitor) -> HealthMonitorRecord:
    return of(HealthMonitorRecord, row)


def _check(
    kind: str, delay: int, timeout: int, req: HealthMonitorCreate | HealthMonitorUpdate
) -> None:
    if req.http_version is not None and req.http_version not in (1.0, 1.1):
        raise exception.InvalidOption("http_version must be 1.0 or 1.1.")
    if kind not in HTTP_TYPES:
        for name in ("http_method", "url_path", "expected_codes", "http_version", "domain_name"):
            if getattr(req, name) is not None:
                raise exception.InvalidOption(
                    f"{name} is not a valid option for health monitors of type {kind}"
                )


def create(deps: Deps, ctx: RequestContext, req: HealthMonitorCreate) -> HealthMonitorRecord:
    _check(req.type, req.delay, req.timeout, req)
    http = req.type in HTTP_TYPES

    def tx(session: Session) -> tuple[HealthMonitorRecord, str]:
        pool = _tree.load(session, models.Pool, req.pool_id, "Pool")
        project = _tree.creating_project(ctx, rules.POST, req.project_id or pool.project_id)
        taken = session.scalar(
            sa.select(models.HealthMonitor.id).where(models.HealthMonitor.pool_id == pool.id)
        )
        if taken:
            raise exception.Duplicate("health monitor", f"pool {pool.id}")
        _tree.check_quota(
            session, deps, project, "health_monitor", models.HealthMonitor, "Health Monitor"
        )
        lb = _tree.lock_lb(session, pool.load_balancer_id)
        if lb.provider == "haproxy" and req.type not in SUPPORTED:
            raise exception.ProviderUnsupported(lb.provider, f"health monitor type {req.type}")
        row = models.HealthMonitor(
            pool_id=pool.id,
            type=req.type,
            delay=req.delay,
            timeout=req.timeout,
            max_retries=req.max_retries,
            max_retries_down=req.max_retries_down,
            http_method=(req.http_method or "GET") if http else None,
            url_path=(req.url_path or "/") if http else None,
            expected_codes=(req.expected_codes or "200") if http else None,
            http_version=req.http_version,
            domain_name=req.domain_name,
            name=req.name or "",
            description=req.description or "",
        )
        _tree.add_pending(session, row, project, lb.id, req)
        return record(row), lb.host

    return _provisioning.write_and_refresh(deps, ctx, tx)


def get(deps: Deps, ctx: RequestContext, monitor_id: str) -> HealthMonitorRecord:
    with deps.db.reader() as session:
        row = _tree.load(session, models.HealthMonitor, monitor_id, "Health Monitor")
        _tree.authorize(ctx, rules.GET_ONE, row)
        return record(row)


def list_(deps: Deps, ctx: RequestContext, page: ListPage) -> list[HealthMonitorRecord]:
    with deps.db.reader() as session:
        found = _tree.listed(session, ctx, models.HealthMonitor, rules, page)
        return [record(r) for r in found]


def _monitor(session: Session, monitor_id: str) -> models.HealthMonitor:
    return _tree.load(session, models.HealthMonitor, monitor_id, "Health Monitor", lock=True)


def update(
    deps: Deps, ctx: RequestContext, monitor_id: str, req: HealthMonitorUpdate
) -> HealthMonitorRecord:
    def check(_session: Session, row: models.HealthMonitor) -> None:
        _check(
            row.type,
            req.delay if req.delay is not None else row.delay,
            req.timeout if req.timeout is not None else row.timeout,
            req,
        )

    def change(_session: Session, row: models.HealthMonitor) -> None:
        for name in sorted(req.model_fields_set):
            value = getattr(req, name)
            if value is not None:
                setattr(row, name, value)

    return _provisioning.update(
        deps,
        ctx,
        rules.PUT,
        lambda session: _monitor(session, monitor_id),
        change,
        lambda _session, row: record(row),
        check=check,
    )


def delete(deps: Deps, ctx: RequestContext, monitor_id: str) -> None:
    _provisioning.delete(deps, ctx, rules.DELETE, lambda session: _monitor(session, monitor_id))
