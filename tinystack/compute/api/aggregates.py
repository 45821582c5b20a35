"""``/os-aggregates``: host aggregates and availability zones."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.compute.api.bodies import body_part, unexpected
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.rendering import json_response, plain_time
from tinystack.compute.api.schemas import (
    AggregateActionRequest,
    AggregateCreate,
    AggregateCreateRequest,
    AggregateImagesRequest,
    AggregateUpdateRequest,
    HostBody,
)
from tinystack.compute.services import aggregates
from tinystack.compute.services.aggregates import AggregateRecord

router = APIRouter(tags=["aggregates"])
P = "os_compute_api:os-aggregates:%s"


def _view(agg: AggregateRecord, version: Version, full: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": agg.id,
        "name": agg.name,
        "availability_zone": agg.metadata.get("availability_zone"),
        "created_at": plain_time(agg.created_at),
        "updated_at": plain_time(agg.updated_at),
        "deleted_at": None,
        "deleted": False,
    }
    if full:
        view["hosts"] = list(agg.hosts)
        view["metadata"] = dict(agg.metadata)
    if version >= (2, 41):
        view["uuid"] = agg.uuid
    return view


def _check_id(aggregate_id: str) -> None:
    """An integer (any integer: ``-1`` is simply not found) or 400."""
    try:
        int(aggregate_id)
    except ValueError:
        raise BadRequest(f"id must be an integer, not {aggregate_id!r}") from None


@router.get("/os-aggregates", openapi_extra=policies(P % "index"))
def list_aggregates(ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    ctx.can(P % "index", {})
    return json_response({"aggregates": [_view(a, version) for a in aggregates.list_all(deps)]})


@router.post(
    "/os-aggregates", openapi_extra=policies(P % "create") | request_model(AggregateCreateRequest)
)
def create_aggregate(
    ctx: ContextDep, deps: DepsDep, version: VersionDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(P % "create", {})
    model = AggregateCreate.model_validate(body_part(body, "aggregate"))
    agg = aggregates.create(deps, model.name.strip(), model.availability_zone)
    return json_response({"aggregate": _view(agg, version, full=False)})


@router.get("/os-aggregates/{aggregate_id}", openapi_extra=policies(P % "show"))
def show_aggregate(
    aggregate_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(P % "show", {})
    _check_id(aggregate_id)
    return json_response({"aggregate": _view(aggregates.get(deps, aggregate_id), version)})


@router.put(
    "/os-aggregates/{aggregate_id}",
    openapi_extra=policies(P % "update") | request_model(AggregateUpdateRequest),
)
def update_aggregate(
    aggregate_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    ctx.can(P % "update", {})
    _check_id(aggregate_id)
    data = body_part(body, "aggregate")
    extra = sorted(set(data) - {"name", "availability_zone"})
    if extra:
        raise unexpected(extra)
    if not data:
        raise BadRequest("Invalid input for field/attribute aggregate: no field to update")
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 255):
        raise BadRequest(f"Invalid input for field/attribute name. Value: {name}.")
    zone: Any = data.get("availability_zone", ...)
    if zone is not ... and zone is not None and (not isinstance(zone, str) or not zone):
        raise BadRequest(f"Invalid input for field/attribute availability_zone. Value: {zone}.")
    agg = aggregates.update(deps, aggregate_id, name, zone)
    return json_response({"aggregate": _view(agg, version)})


@router.delete("/os-aggregates/{aggregate_id}", openapi_extra=policies(P % "delete"))
def delete_aggregate(aggregate_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(P % "delete", {})
    _check_id(aggregate_id)
    aggregates.destroy(deps, aggregate_id)
    return Response(status_code=200)


@router.post(
    "/os-aggregates/{aggregate_id}/action",
    openapi_extra=policies(P % "add_host", P % "remove_host", P % "set_metadata")
    | request_model(AggregateActionRequest),
)
def aggregate_action(
    aggregate_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    _check_id(aggregate_id)
    if "add_host" in body:
        ctx.can(P % "add_host", {})
        host = HostBody.model_validate(body_part(body, "add_host")).host
        agg = aggregates.add_host(deps, aggregate_id, host)
    elif "remove_host" in body:
        ctx.can(P % "remove_host", {})
        host = HostBody.model_validate(body_part(body, "remove_host")).host
        agg = aggregates.remove_host(deps, aggregate_id, host)
    elif "set_metadata" in body:
        ctx.can(P % "set_metadata", {})
        data = body_part(body, "set_metadata")
        metadata = data.get("metadata")
        if set(data) != {"metadata"} or not isinstance(metadata, dict):
            raise BadRequest("Invalid input for field/attribute set_metadata.")
        for key, value in metadata.items():
            if not 1 <= len(key) <= 255 or (value is not None and not isinstance(value, str)):
                raise BadRequest(f"Invalid input for field/attribute metadata. Key: {key}.")
        agg = aggregates.set_metadata(deps, aggregate_id, metadata)
    else:
        raise BadRequest(f"There is no such action: {next(iter(body), '')}")
    return json_response({"aggregate": _view(agg, version)})


@router.post(
    "/os-aggregates/{aggregate_id}/images",
    status_code=202,
    openapi_extra=since("2.81")
    | policies("compute:aggregates:images")
    | request_model(AggregateImagesRequest),
)
def cache_images(
    aggregate_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    if version < (2, 81):
        raise NotFound("The resource could not be found.")
    ctx.can("compute:aggregates:images", {})
    _check_id(aggregate_id)
    aggregates.get(deps, aggregate_id)
    images = body.get("cache") if isinstance(body, dict) else None
    if not isinstance(images, list) or not images:
        raise BadRequest("Invalid input for field/attribute cache.")
    return Response(status_code=202)
