"""``/snapshots/{snapshot_id}/metadata``: show, merge (POST), replace (PUT), and one
key: show, set, delete."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.volume.api.deps import ContextDep, DepsDep
from tinystack.volume.api.rendering import json_response
from tinystack.volume.api.snapshot_schemas import MetadataBody, MetaItemBody
from tinystack.volume.services import snapshot_metadata as meta
from tinystack.volume.services.snapshots import GET

router = APIRouter(tags=["snapshot metadata"])

PATH = "/snapshots/{snapshot_id}/metadata"


@router.get(PATH, openapi_extra=policies(GET, meta.GET))
def show_metadata(snapshot_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    return json_response({"metadata": meta.get(deps.db, ctx, snapshot_id)})


@router.post(PATH, openapi_extra={**policies(GET, meta.UPDATE), **request_model(MetadataBody)})
def create_metadata(
    snapshot_id: str, body: MetadataBody, ctx: ContextDep, deps: DepsDep
) -> Response:
    merged = meta.update(deps.db, ctx, snapshot_id, body.metadata, replace=False)
    return json_response({"metadata": merged})


@router.put(PATH, openapi_extra={**policies(GET, meta.UPDATE), **request_model(MetadataBody)})
def replace_metadata(
    snapshot_id: str, body: MetadataBody, ctx: ContextDep, deps: DepsDep
) -> Response:
    replaced = meta.update(deps.db, ctx, snapshot_id, body.metadata, replace=True)
    return json_response({"metadata": replaced})


@router.get(PATH + "/{key}", openapi_extra=policies(GET, meta.GET))
def show_metadata_key(snapshot_id: str, key: str, ctx: ContextDep, deps: DepsDep) -> Response:
    return json_response({"meta": {key: meta.get_key(deps.db, ctx, snapshot_id, key)}})


@router.put(
    PATH + "/{key}", openapi_extra={**policies(GET, meta.UPDATE), **request_model(MetaItemBody)}
)
def update_metadata_key(
    snapshot_id: str, key: str, body: MetaItemBody, ctx: ContextDep, deps: DepsDep
) -> Response:
    if key not in body.meta:
        raise BadRequest("Request body and URI mismatch")
    if len(body.meta) > 1:
        raise BadRequest("Request body contains too many items")
    meta.update(deps.db, ctx, snapshot_id, body.meta, replace=False)
    return json_response({"meta": body.meta})


@router.delete(PATH + "/{key}", openapi_extra=policies(GET, meta.GET, meta.DELETE))
def delete_metadata_key(snapshot_id: str, key: str, ctx: ContextDep, deps: DepsDep) -> Response:
    meta.delete_key(deps.db, ctx, snapshot_id, key)
    return Response(status_code=200)
