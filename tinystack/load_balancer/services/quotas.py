"""Quotas per project: the configured defaults unless the project has its own limits."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.load_balancer import models
from tinystack.load_balancer.policies import quota as rules
from tinystack.load_balancer.services.deps import Deps
from tinystack.load_balancer.services.inputs import QuotaUpdate
from tinystack.load_balancer.services.records import QuotaRecord

#: the API's names (and their old aliases) -> the quota kinds
ALIASES = {
    "loadbalancer": "load_balancer",
    "load_balancer": "load_balancer",
    "listener": "listener",
    "pool": "pool",
    "member": "member",
    "healthmonitor": "health_monitor",
    "health_monitor": "health_monitor",
    "l7policy": "l7policy",
    "l7rule": "l7rule",
}


def _record(deps: Deps, project_id: str, row: models.Quota | None) -> QuotaRecord:
    limits = dict(deps.opts.quotas)
    if row is not None:
        limits.update({k: v for k, v in row.limits.items() if v is not None})
    return QuotaRecord(project_id, limits)


def defaults(deps: Deps, ctx: RequestContext) -> QuotaRecord:
    ctx.can(rules.GET_DEFAULTS, {"project_id": ctx.project_id or ""})
    return QuotaRecord("", dict(deps.opts.quotas))


def get(deps: Deps, ctx: RequestContext, project_id: str) -> QuotaRecord:
    ctx.can(rules.GET_ONE, {"project_id": project_id})
    with deps.db.reader() as session:
        return _record(deps, project_id, session.get(models.Quota, project_id))


def list_(deps: Deps, ctx: RequestContext, project_id: str | None) -> list[QuotaRecord]:
    with deps.db.reader() as session:
        query = sa.select(models.Quota).order_by(models.Quota.project_id)
        if not ctx.allowed(rules.GET_ALL_GLOBAL, {"project_id": ctx.project_id or ""}):
            ctx.can(rules.GET_ALL, {"project_id": ctx.project_id or ""})
            project_id = ctx.project_id or ""
        if project_id:
            query = query.where(models.Quota.project_id == project_id)
        return [_record(deps, r.project_id, r) for r in session.scalars(query)]


def update(deps: Deps, ctx: RequestContext, project_id: str, req: QuotaUpdate) -> QuotaRecord:
    ctx.can(rules.PUT, {"project_id": project_id})

    def tx(session: Session) -> QuotaRecord:
        row = session.get(models.Quota, project_id)
        if row is None:
            row = models.Quota(project_id=project_id, limits={})
            session.add(row)
        limits = dict(row.limits)
        for name in req.model_fields_set:
            limits[ALIASES[name]] = getattr(req, name)
        row.limits = limits
        return _record(deps, project_id, row)

    return deps.db.write(tx)


def delete(deps: Deps, ctx: RequestContext, project_id: str) -> None:
    ctx.can(rules.DELETE, {"project_id": project_id})
    deps.db.write(
        lambda s: s.execute(sa.delete(models.Quota).where(models.Quota.project_id == project_id))
    )
