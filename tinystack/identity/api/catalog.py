"""``/v3/regions``, ``/v3/services``, ``/v3/endpoints``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import Field, StrictStr
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import ValidationError
from tinystack.identity import models
from tinystack.identity.api.common import (
    Bool,
    Id,
    Name,
    Open,
    StateDep,
    Strict,
    authorize,
    collection,
    link,
    read_route,
)
from tinystack.identity.core import catalog

router = APIRouter(tags=["catalog"])
Interface = Literal["public", "internal", "admin"]
RegionId = Annotated[StrictStr, Field(max_length=255)]


class RegionCreate(Open):
    id: str | None = Field(None, max_length=255)
    description: str | None = None
    parent_region_id: RegionId | None = None


class RegionUpdate(Open):
    description: str | None = None
    parent_region_id: RegionId | None = None


class ServiceCreate(Open):
    type: str = Field(min_length=1, max_length=255)
    name: Name | None = None
    description: str | None = None
    enabled: Bool = True


class ServiceUpdate(Open):
    NOT_NULL = ("type", "enabled")

    type: str | None = Field(None, min_length=1, max_length=255)
    name: Name | None = None
    description: str | None = None
    enabled: Bool | None = None


class EndpointCreate(Open):
    service_id: Id
    interface: Interface
    url: str = Field(min_length=1)
    region_id: RegionId | None = None
    region: RegionId | None = None
    enabled: Bool = True


class EndpointUpdate(Open):
    NOT_NULL = ("service_id", "interface", "url", "enabled")

    service_id: Id | None = None
    interface: Interface | None = None
    url: str | None = Field(None, min_length=1)
    region_id: RegionId | None = None
    region: RegionId | None = None
    enabled: Bool | None = None


class RegionBody(Strict):
    region: RegionCreate = Field(default_factory=lambda: RegionCreate.model_validate({}))


class RegionUpdateBody(Strict):
    region: RegionUpdate


class ServiceBody(Strict):
    service: ServiceCreate


class ServiceUpdateBody(Strict):
    service: ServiceUpdate


class EndpointBody(Strict):
    endpoint: EndpointCreate


class EndpointUpdateBody(Strict):
    endpoint: EndpointUpdate


def render_region(request: Request, r: models.Region) -> dict[str, Any]:
    return {
        **r.extra,
        "id": r.id,
        "description": r.description,
        "parent_region_id": r.parent_region_id,
        "links": link(request, f"/v3/regions/{r.id}"),
    }


def render_service(request: Request, s: models.Service) -> dict[str, Any]:
    body = {
        **s.extra,
        "id": s.id,
        "type": s.type,
        "enabled": s.enabled,
        "links": link(request, f"/v3/services/{s.id}"),
    }
    if s.name is not None:
        body["name"] = s.name
    if s.description is not None:
        body["description"] = s.description
    return body


def render_endpoint(request: Request, e: models.Endpoint) -> dict[str, Any]:
    return {
        **e.extra,
        "id": e.id,
        "service_id": e.service_id,
        "interface": e.interface,
        "url": e.url,
        "region_id": e.region_id,
        "region": e.region_id,
        "enabled": e.enabled,
        "links": link(request, f"/v3/endpoints/{e.id}"),
    }


# -- regions ---------------------------------------------------------------------------------


@router.post("/v3/regions", status_code=201)
def create_region(
    request: Request, ctx: ContextDep, st: StateDep, body: RegionBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_region", {})
    return {
        "region": render_region(request, catalog.create_region(st, body.region.fields_and_extra()))
    }


@router.put("/v3/regions/{region_id}", status_code=201)
def create_region_with_id(
    request: Request, ctx: ContextDep, st: StateDep, region_id: str, body: RegionBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_region", {})
    data = body.region.fields_and_extra()
    if data.get("id") not in (None, region_id):
        raise ValidationError("The region id in the body must match the URL.")
    data["id"] = region_id
    return {"region": render_region(request, catalog.create_region(st, data))}


@read_route(router, "/v3/regions")
def list_regions(
    request: Request, ctx: ContextDep, st: StateDep, parent_region_id: str | None = None
) -> dict[str, Any]:
    authorize(ctx, "identity:list_regions", {})
    return collection(request, "regions", catalog.list_regions(st, parent_region_id), render_region)


@read_route(router, "/v3/regions/{region_id}")
def show_region(request: Request, ctx: ContextDep, st: StateDep, region_id: str) -> dict[str, Any]:
    authorize(ctx, "identity:get_region", {})
    return {"region": render_region(request, catalog.show_region(st, region_id))}


@router.patch("/v3/regions/{region_id}")
def update_region(
    request: Request, ctx: ContextDep, st: StateDep, region_id: str, body: RegionUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_region", {})
    region = catalog.update_region(st, region_id, body.region.fields_and_extra(region_id))
    return {"region": render_region(request, region)}


@router.delete("/v3/regions/{region_id}", status_code=204)
def delete_region(ctx: ContextDep, st: StateDep, region_id: str) -> Response:
    authorize(ctx, "identity:delete_region", {})
    catalog.delete_region(st, region_id)
    return Response(status_code=204)


# -- services --------------------------------------------------------------------------------


@router.post("/v3/services", status_code=201)
def create_service(
    request: Request, ctx: ContextDep, st: StateDep, body: ServiceBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_service", {})
    service = catalog.create_service(st, body.service.fields_and_extra())
    return {"service": render_service(request, service)}


@read_route(router, "/v3/services")
def list_services(
    request: Request,
    ctx: ContextDep,
    st: StateDep,
    type: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    authorize(ctx, "identity:list_services", {})
    return collection(request, "services", catalog.list_services(st, type, name), render_service)


@read_route(router, "/v3/services/{service_id}")
def show_service(
    request: Request, ctx: ContextDep, st: StateDep, service_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_service", {})
    return {"service": render_service(request, catalog.show_service(st, service_id))}


@router.patch("/v3/services/{service_id}")
def update_service(
    request: Request, ctx: ContextDep, st: StateDep, service_id: str, body: ServiceUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_service", {})
    service = catalog.update_service(st, service_id, body.service.fields_and_extra(service_id))
    return {"service": render_service(request, service)}


@router.delete("/v3/services/{service_id}", status_code=204)
def delete_service(ctx: ContextDep, st: StateDep, service_id: str) -> Response:
    authorize(ctx, "identity:delete_service", {})
    catalog.delete_service(st, service_id)
    return Response(status_code=204)


# -- endpoints -------------------------------------------------------------------------------


def _endpoint_data(
    model: EndpointCreate | EndpointUpdate, endpoint_id: str | None = None
) -> dict[str, Any]:
    data = model.fields_and_extra(endpoint_id)
    region = data.pop("region", None)
    if region is not None and "region_id" not in data:
        # The legacy `region` attribute creates a missing region, as Keystone does.
        data["region_id"] = region
        data["create_region"] = True
    return data


@router.post("/v3/endpoints", status_code=201)
def create_endpoint(
    request: Request, ctx: ContextDep, st: StateDep, body: EndpointBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_endpoint", {})
    endpoint = catalog.create_endpoint(st, _endpoint_data(body.endpoint))
    return {"endpoint": render_endpoint(request, endpoint)}


@read_route(router, "/v3/endpoints")
def list_endpoints(
    request: Request,
    ctx: ContextDep,
    st: StateDep,
    service_id: str | None = None,
    interface: str | None = None,
    region_id: str | None = None,
) -> dict[str, Any]:
    authorize(ctx, "identity:list_endpoints", {})
    filters = {"service_id": service_id, "interface": interface, "region_id": region_id}
    return collection(request, "endpoints", catalog.list_endpoints(st, filters), render_endpoint)


@read_route(router, "/v3/endpoints/{endpoint_id}")
def show_endpoint(
    request: Request, ctx: ContextDep, st: StateDep, endpoint_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_endpoint", {})
    return {"endpoint": render_endpoint(request, catalog.show_endpoint(st, endpoint_id))}


@router.patch("/v3/endpoints/{endpoint_id}")
def update_endpoint(
    request: Request, ctx: ContextDep, st: StateDep, endpoint_id: str, body: EndpointUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_endpoint", {})
    endpoint = catalog.update_endpoint(st, endpoint_id, _endpoint_data(body.endpoint, endpoint_id))
    return {"endpoint": render_endpoint(request, endpoint)}


@router.delete("/v3/endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(ctx: ContextDep, st: StateDep, endpoint_id: str) -> Response:
    authorize(ctx, "identity:delete_endpoint", {})
    catalog.delete_endpoint(st, endpoint_id)
    return Response(status_code=204)
