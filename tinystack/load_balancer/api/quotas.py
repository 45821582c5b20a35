"""Handlers of /v2/lbaas/quotas."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.load_balancer.api import schemas
from tinystack.load_balancer.api.deps import DepsDep
from tinystack.load_balancer.services import quotas
from tinystack.load_balancer.services.records import QuotaRecord

#: the API's names of the quota kinds
NAMES = {
    "load_balancer": "load_balancer",
    "listener": "listener",
    "pool": "pool",
    "member": "member",
    "health_monitor": "health_monitor",
    "l7policy": "l7policy",
    "l7rule": "l7rule",
}


def _view(r: QuotaRecord, project: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {NAMES[k]: v for k, v in r.limits.items()}
    out["loadbalancer"] = r.limits.get("load_balancer", -1)
    out["healthmonitor"] = r.limits.get("health_monitor", -1)
    if project:
        out["project_id"] = r.project_id
    return out


def list_(ctx: ContextDep, deps: DepsDep, project_id: str | None = None) -> dict[str, Any]:
    return {"quotas": [_view(r) for r in quotas.list_(deps, ctx, project_id)], "quotas_links": []}


def defaults(ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"quota": _view(quotas.defaults(deps, ctx), project=False)}


def show(project_id: str, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    return {"quota": _view(quotas.get(deps, ctx, project_id), project=False)}


def update(
    project_id: str, body: schemas.QuotaUpdateBody, ctx: ContextDep, deps: DepsDep
) -> dict[str, Any]:
    return {"quota": _view(quotas.update(deps, ctx, project_id, body.quota), project=False)}


def delete(project_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    quotas.delete(deps, ctx, project_id)
    return Response(status_code=204)
