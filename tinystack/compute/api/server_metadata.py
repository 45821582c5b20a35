"""``/servers/{id}/metadata``: a server's metadata items."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute.api.deps import ContextDep, DepsDep
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import MetadataRequest, MetaItemRequest, _metadata
from tinystack.compute.services import servers
from tinystack.compute.services.deps import Deps

router = APIRouter(tags=["server metadata"])
P = "os_compute_api:server-metadata:%s"


def _items(body: Any, key: str) -> dict[str, str]:
    if not isinstance(body, dict) or key not in body or not isinstance(body[key], dict):
        raise BadRequest("Malformed request body")
    extra = sorted(set(body) - {key})
    if extra:
        raise BadRequest(f"Additional properties are not allowed ({extra[0]!r} was unexpected)")
    items = body[key]
    for v in items.values():
        if not isinstance(v, str):
            raise BadRequest(f"Invalid input for field/attribute {key}. Value: {v!r}.")
    try:
        return _metadata(dict(items))
    except ValueError as exc:
        raise BadRequest(f"Invalid input for field/attribute {key}. {exc}") from None


def _load(ctx: RequestContext, deps: Deps, server_id: str, rule: str) -> Any:
    return servers.get_authorized(deps, ctx, server_id, P % rule)


@router.get("/servers/{server_id}/metadata", openapi_extra=policies(P % "index"))
def list_metadata(server_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    inst = _load(ctx, deps, server_id, "index")
    return json_response({"metadata": dict(inst.user_metadata or {})})


@router.post(
    "/servers/{server_id}/metadata",
    openapi_extra=policies(P % "create") | request_model(MetadataRequest),
)
def merge_metadata(
    server_id: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    _load(ctx, deps, server_id, "create")
    items = _items(body, "metadata")
    merged = servers.set_metadata(
        deps, CallContext.from_request(ctx), server_id, items, replace=False
    )
    return json_response({"metadata": merged})


@router.put(
    "/servers/{server_id}/metadata",
    openapi_extra=policies(P % "update_all") | request_model(MetadataRequest),
)
def replace_metadata(
    server_id: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    _load(ctx, deps, server_id, "update_all")
    items = _items(body, "metadata")
    result = servers.set_metadata(
        deps, CallContext.from_request(ctx), server_id, items, replace=True
    )
    return json_response({"metadata": result})


@router.get("/servers/{server_id}/metadata/{key}", openapi_extra=policies(P % "show"))
def show_metadata_item(server_id: str, key: str, ctx: ContextDep, deps: DepsDep) -> Response:
    inst = _load(ctx, deps, server_id, "show")
    meta = inst.user_metadata or {}
    if key not in meta:
        raise NotFound("Metadata item was not found")
    return json_response({"meta": {key: meta[key]}})


@router.put(
    "/servers/{server_id}/metadata/{key}",
    openapi_extra=policies(P % "update") | request_model(MetaItemRequest),
)
def set_metadata_item(
    server_id: str, key: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    _load(ctx, deps, server_id, "update")
    items = _items(body, "meta")
    if len(items) != 1:
        raise BadRequest("Request body contains too many items")
    if key not in items:
        raise BadRequest("Request body and URI mismatch")
    servers.set_metadata(deps, CallContext.from_request(ctx), server_id, items, replace=False)
    return json_response({"meta": items})


@router.delete(
    "/servers/{server_id}/metadata/{key}", status_code=204, openapi_extra=policies(P % "delete")
)
def delete_metadata_item(server_id: str, key: str, ctx: ContextDep, deps: DepsDep) -> Response:
    _load(ctx, deps, server_id, "delete")
    servers.delete_metadata(deps, CallContext.from_request(ctx), server_id, key)
    return Response(status_code=204)
