"""The volume proxy APIs of microversions 2.1-2.35: ``os-volumes`` and ``os-snapshots``
(404 from 2.36, as upstream). The work is in
:mod:`tinystack.compute.services.volume_proxies`; this module puts the block storage
service's records in Nova's shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.clients.volume import Snapshot, Volume
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute.api.bodies import body_part, unexpected
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import (
    SnapshotBody,
    SnapshotCreateRequest,
    VolumeBody,
    VolumeCreateRequest,
)
from tinystack.compute.services import volume_proxies as proxies
from tinystack.compute.services.deps import Deps

router = APIRouter(tags=["volume proxies"])
P = "os_compute_api:os-volumes:%s"
LAST = Version(2, 35)
T = TypeVar("T")


def _proxy(ctx: RequestContext, version: Version, rule: str) -> CallContext:
    if version > LAST:
        raise NotFound("The resource could not be found.")
    ctx.can(rule, {"project_id": ctx.project_id})
    return CallContext.from_request(ctx)


def _only(body: Any, key: str) -> None:
    """Upstream's schemas take nothing beside the one object."""
    if isinstance(body, dict) and (extra := sorted(set(body) - {key})):
        raise unexpected(extra)


def _query_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} param must be an integer") from None
    if value < 0:
        raise BadRequest(f"{name} param must be positive")
    return value


def _limited(request: Request, deps: Deps, items: Sequence[T]) -> list[T]:
    """``offset`` and ``limit`` over the whole list (upstream's ``common.limited``)."""
    offset = _query_int(request, "offset") or 0
    limit = _query_int(request, "limit")
    maximum = int(deps.opts.max_limit)
    return list(items[offset : offset + min(limit or maximum, maximum)])


# -- views ------------------------------------------------------------------------------------
def _attachments(volume: Volume) -> list[dict[str, Any]]:
    if not volume.attachments:
        return [{}]  # upstream's view of a volume attached nowhere
    found = []
    for attachment in volume.attachments:
        view = {"id": volume.id, "volumeId": volume.id, "serverId": attachment.server_id}
        if attachment.device:
            view["device"] = attachment.device
        found.append(view)
    return found


def _volume_view(volume: Volume) -> dict[str, Any]:
    return {
        "id": volume.id,
        "status": volume.status,
        "size": volume.size,
        "availabilityZone": volume.availability_zone,
        "createdAt": volume.created_at,
        "attachments": _attachments(volume),
        "displayName": volume.name,
        "displayDescription": volume.description,
        "volumeType": volume.volume_type,
        "snapshotId": volume.snapshot_id,
        "metadata": dict(volume.metadata),
    }


def _snapshot_view(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "id": snapshot.id,
        "volumeId": snapshot.volume_id,
        "status": snapshot.status,
        "size": snapshot.size,
        "createdAt": snapshot.created_at,
        "displayName": snapshot.name,
        "displayDescription": snapshot.description,
    }


# -- volumes ----------------------------------------------------------------------------------
def _volumes(
    request: Request, ctx: RequestContext, deps: Deps, version: Version, rule: str
) -> Response:
    call = _proxy(ctx, version, rule)
    found = _limited(request, deps, proxies.list_volumes(deps, call))
    return json_response({"volumes": [_volume_view(v) for v in found]})


@router.get("/os-volumes", openapi_extra=policies(P % "list"))
def list_volumes(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    return _volumes(request, ctx, deps, version, P % "list")


@router.get("/os-volumes/detail", openapi_extra=policies(P % "detail"))
def list_volumes_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _volumes(request, ctx, deps, version, P % "detail")


@router.post(
    "/os-volumes", openapi_extra=policies(P % "create") | request_model(VolumeCreateRequest)
)
def create_volume(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep, body: Any = Body(None)
) -> Response:
    call = _proxy(ctx, version, P % "create")
    _only(body, "volume")
    values = VolumeBody.model_validate(body_part(body, "volume"))
    new = proxies.NewVolume(**values.model_dump())
    volume = proxies.create_volume(deps, call, new)
    location = f"{str(request.url).rstrip('/')}/{volume.id}"
    return json_response({"volume": _volume_view(volume)}, headers={"Location": location})


@router.get("/os-volumes/{volume_id}", openapi_extra=policies(P % "show"))
def show_volume(volume_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    call = _proxy(ctx, version, P % "show")
    return json_response({"volume": _volume_view(proxies.get_volume(deps, call, volume_id))})


@router.delete("/os-volumes/{volume_id}", openapi_extra=policies(P % "delete"))
def delete_volume(volume_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    call = _proxy(ctx, version, P % "delete")
    proxies.delete_volume(deps, call, volume_id)
    return Response(status_code=202)


# -- snapshots --------------------------------------------------------------------------------
def _snapshots(
    request: Request, ctx: RequestContext, deps: Deps, version: Version, rule: str
) -> Response:
    call = _proxy(ctx, version, rule)
    found = _limited(request, deps, proxies.list_snapshots(deps, call))
    return json_response({"snapshots": [_snapshot_view(s) for s in found]})


@router.get("/os-snapshots", openapi_extra=policies(P % "snapshots:list"))
def list_snapshots(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _snapshots(request, ctx, deps, version, P % "snapshots:list")


@router.get("/os-snapshots/detail", openapi_extra=policies(P % "snapshots:detail"))
def list_snapshots_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _snapshots(request, ctx, deps, version, P % "snapshots:detail")


@router.post(
    "/os-snapshots",
    openapi_extra=policies(P % "snapshots:create") | request_model(SnapshotCreateRequest),
)
def create_snapshot(
    ctx: ContextDep, deps: DepsDep, version: VersionDep, body: Any = Body(None)
) -> Response:
    call = _proxy(ctx, version, P % "snapshots:create")
    _only(body, "snapshot")
    values = SnapshotBody.model_validate(body_part(body, "snapshot"))
    snapshot = proxies.create_snapshot(
        deps,
        call,
        values.volume_id,
        force=values.force,
        name=values.display_name,
        description=values.display_description,
    )
    return json_response({"snapshot": _snapshot_view(snapshot)})


@router.get("/os-snapshots/{snapshot_id}", openapi_extra=policies(P % "snapshots:show"))
def show_snapshot(
    snapshot_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    call = _proxy(ctx, version, P % "snapshots:show")
    snapshot = proxies.get_snapshot(deps, call, snapshot_id)
    return json_response({"snapshot": _snapshot_view(snapshot)})


@router.delete("/os-snapshots/{snapshot_id}", openapi_extra=policies(P % "snapshots:delete"))
def delete_snapshot(
    snapshot_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    call = _proxy(ctx, version, P % "snapshots:delete")
    proxies.delete_snapshot(deps, call, snapshot_id)
    return Response(status_code=202)
