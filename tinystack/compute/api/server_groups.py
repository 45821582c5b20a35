"""``/os-server-groups``: affinity and anti-affinity (hard and soft) groups."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.context import CallContext
from tinystack.compute.api.bodies import body_part, unexpected
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.query import bool_param, reject_unknown
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import ServerGroupCreateRequest
from tinystack.compute.services import server_groups
from tinystack.compute.services.server_groups import ServerGroupRecord

router = APIRouter(tags=["server groups"])
P = "os_compute_api:os-server-groups:%s"


def _view(group: ServerGroupRecord, version: Version) -> dict[str, Any]:
    view: dict[str, Any] = {"id": group.uuid, "name": group.name}
    if version >= (2, 64):
        view["policy"] = group.policy
        view["rules"] = dict(group.rules or {})
    else:
        view["policies"] = [group.policy]
        view["metadata"] = {}
    view["members"] = list(group.members)
    if version >= (2, 13):
        view["project_id"] = group.project_id
        view["user_id"] = group.user_id
    return view


def _parse(data: dict[str, Any], version: Version) -> tuple[str, str, dict[str, int]]:
    allowed = {"name", "policy", "rules"} if version >= (2, 64) else {"name", "policies"}
    extra = sorted(set(data) - allowed)
    if extra:
        raise unexpected(extra)
    name = data.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 255 or name != name.strip():
        raise BadRequest(f"Invalid input for field/attribute name. Value: {name}.")
    valid = ["affinity", "anti-affinity"]
    if version >= (2, 15):
        valid += ["soft-affinity", "soft-anti-affinity"]
    rules: dict[str, int] = {}
    if version >= (2, 64):
        policy = data.get("policy")
        if policy not in valid:
            raise BadRequest(f"Invalid input for field/attribute policy. Value: {policy}.")
        raw_rules = data.get("rules", {})
        if not isinstance(raw_rules, dict) or set(raw_rules) - {"max_server_per_host"}:
            raise BadRequest("Invalid input for field/attribute rules.")
        if raw_rules:
            if policy != "anti-affinity":
                raise BadRequest("Only anti-affinity policy supports 'max_server_per_host' rule.")
            value = raw_rules["max_server_per_host"]
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise BadRequest("Invalid input for field/attribute max_server_per_host.") from None
            if isinstance(value, bool) or number < 1:
                raise BadRequest("Invalid input for field/attribute max_server_per_host.")
            rules = {"max_server_per_host": number}
    else:
        found = data.get("policies")
        if not isinstance(found, list) or len(found) != 1 or found[0] not in valid:
            raise BadRequest(f"Invalid input for field/attribute policies. Value: {found}.")
        policy = found[0]
    return name, str(policy), rules


@router.get("/os-server-groups", openapi_extra=policies(P % "index", P % "index:all_projects"))
def list_groups(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    ctx.can(P % "index", {"project_id": ctx.project_id})
    reject_unknown(request, {"all_projects", "limit", "offset"}, version)
    params = request.query_params
    project: str | None = ctx.project_id
    if "all_projects" in params and bool_param(params["all_projects"] or "true", "all_projects"):
        if ctx.allowed(P % "index:all_projects", {"project_id": ctx.project_id}):
            project = None
    limit = offset = None
    try:
        limit = int(params["limit"]) if "limit" in params else None
        offset = int(params["offset"]) if "offset" in params else None
    except ValueError:
        raise BadRequest("limit and offset must be integers") from None
    if (limit is not None and limit < 0) or (offset is not None and offset < 0):
        raise BadRequest("limit and offset must not be negative")
    limit = min(limit if limit is not None else int(deps.opts.max_limit), int(deps.opts.max_limit))
    rows = server_groups.list_groups(deps.db, project, limit=limit, offset=offset or 0)
    return json_response({"server_groups": [_view(g, version) for g in rows]})


@router.post(
    "/os-server-groups",
    openapi_extra=policies(P % "create") | request_model(ServerGroupCreateRequest),
)
def create_group(
    ctx: ContextDep, deps: DepsDep, version: VersionDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(P % "create", {"project_id": ctx.project_id, "user_id": ctx.user_id})
    name, policy, rules = _parse(body_part(body, "server_group"), version)
    group = server_groups.create(
        deps.db, deps.opts, CallContext.from_request(ctx), name, policy, rules
    )
    return json_response({"server_group": _view(group, version)})


@router.get("/os-server-groups/{group_id}", openapi_extra=policies(P % "show"))
def show_group(group_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    group = server_groups.get(deps.db, group_id)
    ctx.can(P % "show", {"project_id": group.project_id, "user_id": group.user_id})
    return json_response({"server_group": _view(group, version)})


@router.delete(
    "/os-server-groups/{group_id}", status_code=204, openapi_extra=policies(P % "delete")
)
def delete_group(group_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    server_groups.delete_group(deps.db, ctx, group_id)
    return Response(status_code=204)
