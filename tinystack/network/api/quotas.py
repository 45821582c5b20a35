"""``/v2.0/quotas``: per-project limits, defaults and usage details."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import simple_check
from tinystack.network.exception import http_bad_request


def _target(project_id: str) -> dict[str, Any]:
    return {"project_id": project_id, "tenant_id": project_id}


def _check_read(ctx: ContextDep, project_id: str) -> None:
    """Neutron checks ``get_quota`` only for another project's quotas: anyone may read
    their own project's."""
    if project_id != ctx.project_id:
        simple_check(ctx, "get_quota")(_target(project_id))


def list_quotas(ctx: ContextDep, deps: DepsDep) -> Response:
    simple_check(ctx, "update_quota")({})
    quotas = [
        {**q.limits, "project_id": q.project_id, "tenant_id": q.project_id}
        for q in deps.quotas.list_items()
    ]
    return JSONResponse({"quotas": quotas})


def show_own_project(ctx: ContextDep) -> Response:
    return JSONResponse({"tenant": {"tenant_id": ctx.project_id}})


def show_quota(project_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    _check_read(ctx, project_id)
    return JSONResponse({"quota": deps.quotas.show(project_id)})


def show_default_quota(project_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    _check_read(ctx, project_id)
    return JSONResponse({"quota": deps.quotas.defaults()})


def show_quota_details(project_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    _check_read(ctx, project_id)
    details = {
        name: {"limit": u.limit, "used": u.used, "reserved": u.reserved}
        for name, u in deps.quotas.details(project_id).items()
    }
    return JSONResponse({"quota": details})


def update_quota(project_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    simple_check(ctx, "update_quota")(_target(project_id))
    if not isinstance(body, dict) or not isinstance(body.get("quota"), dict):
        raise http_bad_request("Unable to find 'quota' in request body")
    values = dict(body["quota"])
    values.pop("force", None)
    values.pop("check_limit", None)
    return JSONResponse({"quota": deps.quotas.update(project_id, values)})


def delete_quota(project_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    simple_check(ctx, "delete_quota")(_target(project_id))
    deps.quotas.delete(project_id)
    return Response(status_code=204)
