"""``/volumes/{volume_id}/metadata``: list, merge, replace; one key: show, set, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.volume.api import schemas
from tinystack.volume.api.deps import ContextDep, DepsDep
from tinystack.volume.api.rendering import json_response
from tinystack.volume.services import volume_metadata

router = APIRouter(tags=["volume metadata"])
GET = "volume:get_volume_metadata"
CREATE = "volume:create_volume_metadata"
UPDATE = "volume:update_volume_metadata"
DELETE = "volume:delete_volume_metadata"


def _metadata(body: Any) -> dict[str, str]:
    if not isinstance(body, dict) or "metadata" not in body:
        raise BadRequest("Malformed request body")
    extra = sorted(set(body) - {"metadata"})
    if extra:
        raise schemas.unexpected(extra)
    return schemas.key_values(body["metadata"], "metadata")


@router.get("/volumes/{volume_id}/metadata", openapi_extra=policies(GET))
def list_metadata(volume_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    return json_response({"metadata": volume_metadata.get(deps.db, ctx, volume_id, GET)})


@router.post(
    "/volumes/{volume_id}/metadata",
    openapi_extra=policies(CREATE) | request_model(schemas.MetadataRequest),
)
def create_metadata(
    volume_id: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    found = volume_metadata.update(deps.db, ctx, volume_id, _metadata(body), CREATE, replace=False)
    return json_response({"metadata": found})


@router.put(
    "/volumes/{volume_id}/metadata",
    openapi_extra=policies(UPDATE) | request_model(schemas.MetadataRequest),
)
def replace_metadata(
    volume_id: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    found = volume_metadata.update(deps.db, ctx, volume_id, _metadata(body), UPDATE, replace=True)
    return json_response({"metadata": found})


@router.get("/volumes/{volume_id}/metadata/{key}", openapi_extra=policies(GET))
def show_metadata_item(volume_id: str, key: str, ctx: ContextDep, deps: DepsDep) -> Response:
    value = volume_metadata.get_item(deps.db, ctx, volume_id, key, GET)
    return json_response({"meta": {key: value}})


@router.put(
    "/volumes/{volume_id}/metadata/{key}",
    openapi_extra=policies(UPDATE) | request_model(schemas.MetaItemRequest),
)
def update_metadata_item(
    volume_id: str, key: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    if not isinstance(body, dict) or "meta" not in body:
        raise BadRequest("Malformed request body")
    meta = schemas.key_values(body["meta"], "meta")
    if len(meta) > 1:
        raise BadRequest("Request body contains too many items")
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    volume_metadata.update(deps.db, ctx, volume_id, meta, UPDATE, replace=False)
    return json_response({"meta": meta})


@router.delete("/volumes/{volume_id}/metadata/{key}", openapi_extra=policies(DELETE))
def delete_metadata_item(volume_id: str, key: str, ctx: ContextDep, deps: DepsDep) -> Response:
    volume_metadata.delete_item(deps.db, ctx, volume_id, key, DELETE)
    return Response(status_code=200)
