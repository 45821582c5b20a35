"""``/servers/{id}/tags`` (2.26+)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import TagsRequest
from tinystack.compute.services import servers
from tinystack.compute.services.deps import Deps

router = APIRouter(tags=["server tags"])
P = "os_compute_api:os-server-tags:%s"


def _check(version: Version) -> None:
    if version < (2, 26):
        raise NotFound("The resource could not be found.")


def _tag(tag: str) -> str:
    if not 1 <= len(tag) <= 60 or "," in tag or "/" in tag:
        raise BadRequest(f"Invalid input for field/attribute tag. Value: {tag}.")
    return tag


def _load(ctx: RequestContext, deps: Deps, server_id: str, rule: str) -> Any:
    return servers.get_authorized(deps, ctx, server_id, P % rule)


@router.get("/servers/{server_id}/tags", openapi_extra=policies(P % "index"))
def list_tags(server_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    _check(version)
    inst = _load(ctx, deps, server_id, "index")
    return json_response({"tags": servers.tags(deps, inst.uuid)})


@router.put(
    "/servers/{server_id}/tags",
    openapi_extra=policies(P % "update_all") | request_model(TagsRequest),
)
def replace_tags(
    server_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    _check(version)
    _load(ctx, deps, server_id, "update_all")
    tags = body.get("tags") if isinstance(body, dict) else None
    if not isinstance(tags, list) or set(body) != {"tags"}:
        raise BadRequest("Invalid input for field/attribute tags.")
    if len(tags) > servers.MAX_TAGS:
        raise BadRequest(f"The number of tags exceeded the per-server limit {servers.MAX_TAGS}")
    result = servers.set_tags(
        deps,
        CallContext.from_request(ctx),
        server_id,
        [_tag(t) if isinstance(t, str) else _tag("") for t in tags],
    )
    return json_response({"tags": result})


@router.delete(
    "/servers/{server_id}/tags", status_code=204, openapi_extra=policies(P % "delete_all")
)
def delete_tags(server_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    _check(version)
    _load(ctx, deps, server_id, "delete_all")
    servers.delete_tag(deps, CallContext.from_request(ctx), server_id, None)
    return Response(status_code=204)


@router.get("/servers/{server_id}/tags/{tag}", status_code=204, openapi_extra=policies(P % "show"))
def check_tag(
    server_id: str, tag: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    _check(version)
    inst = _load(ctx, deps, server_id, "show")
    if tag not in servers.tags(deps, inst.uuid):
        raise NotFound(f"Tag {tag} could not be found.")
    return Response(status_code=204)


@router.put(
    "/servers/{server_id}/tags/{tag}", openapi_extra=policies(P % "update") | request_model(None)
)
def add_tag(
    request: Request,
    server_id: str,
    tag: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
) -> Response:
    _check(version)
    _load(ctx, deps, server_id, "update")
    added = servers.add_tag(deps, CallContext.from_request(ctx), server_id, _tag(tag))
    if not added:
        return Response(status_code=204)
    base = str(request.base_url).rstrip("/")
    return Response(
        status_code=201, headers={"Location": f"{base}/v2.1/servers/{server_id}/tags/{tag}"}
    )


@router.delete(
    "/servers/{server_id}/tags/{tag}", status_code=204, openapi_extra=policies(P % "delete")
)
def delete_tag(
    server_id: str, tag: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    _check(version)
    _load(ctx, deps, server_id, "delete")
    servers.delete_tag(deps, CallContext.from_request(ctx), server_id, tag)
    return Response(status_code=204)
