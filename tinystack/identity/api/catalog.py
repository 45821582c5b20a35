"""``/v3/regions``, ``/v3/services``, ``/v3/endpoints``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import ValidationError
from tinystack.identity.api.deps import DepsDep, authorize
from tinystack.identity.api.schemas import (
    EndpointBody,
    EndpointUpdateBody,
    RegionBody,
    RegionUpdateBody,
    ServiceBody,
    ServiceUpdateBody,
)
from tinystack.identity.api.views import collection, render_endpoint, render_region, render_service
from tinystack.identity.services import catalog

# -- regions ---------------------------------------------------------------------------------


def create_region(
    request: Request, ctx: ContextDep, deps: DepsDep, body: RegionBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_region", {})
    return {"region": render_region(request, catalog.create_region(deps, body.region.attributes()))}


def create_region_with_id(
    request: Request, ctx: ContextDep, deps: DepsDep, region_id: str, body: RegionBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_region", {})
    data = body.region.attributes()
    if data.get("id") not in (None, region_id):
        raise ValidationError("The region id in the body must match the URL.")
    data["id"] = region_id
    return {"region": render_region(request, catalog.create_region(deps, data))}


def list_regions(
    request: Request, ctx: ContextDep, deps: DepsDep, parent_region_id: str | None = None
) -> dict[str, Any]:
    authorize(ctx, "identity:list_regions", {})
    return collection(
        request, "regions", catalog.list_regions(deps, parent_region_id), render_region
    )


def show_region(request: Request, ctx: ContextDep, deps: DepsDep, region_id: str) -> dict[str, Any]:
    authorize(ctx, "identity:get_region", {})
    return {"region": render_region(request, catalog.show_region(deps, region_id))}


def update_region(
    request: Request, ctx: ContextDep, deps: DepsDep, region_id: str, body: RegionUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_region", {})
    region = catalog.update_region(deps, region_id, body.region.attributes(region_id))
    return {"region": render_region(request, region)}


def delete_region(ctx: ContextDep, deps: DepsDep, region_id: str) -> Response:
    authorize(ctx, "identity:delete_region", {})
    catalog.delete_region(deps, region_id)
    return Response(status_code=204)


# -- services --------------------------------------------------------------------------------


def create_service(
    request: Request, ctx: ContextDep, deps: DepsDep, body: ServiceBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_service", {})
    service = catalog.create_service(deps, body.service.attributes())
    return {"service": render_service(request, service)}


def list_services(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    type: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    authorize(ctx, "identity:list_services", {})
    return collection(request, "services", catalog.list_services(deps, type, name), render_service)


def show_service(
    request: Request, ctx: ContextDep, deps: DepsDep, service_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_service", {})
    return {"service": render_service(request, catalog.show_service(deps, service_id))}


def update_service(
    request: Request, ctx: ContextDep, deps: DepsDep, service_id: str, body: ServiceUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_service", {})
    service = catalog.update_service(deps, service_id, body.service.attributes(service_id))
    return {"service": render_service(request, service)}


def delete_service(ctx: ContextDep, deps: DepsDep, service_id: str) -> Response:
    authorize(ctx, "identity:delete_service", {})
    catalog.delete_service(deps, service_id)
    return Response(status_code=204)


# -- endpoints -------------------------------------------------------------------------------


def create_endpoint(
    request: Request, ctx: ContextDep, deps: DepsDep, body: EndpointBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_endpoint", {})
    endpoint = catalog.create_endpoint(deps, body.endpoint.attributes())
    return {"endpoint": render_endpoint(request, endpoint)}


def list_endpoints(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    service_id: str | None = None,
    interface: str | None = None,
    region_id: str | None = None,
) -> dict[str, Any]:
    authorize(ctx, "identity:list_endpoints", {})
    items = catalog.list_endpoints(deps, service_id, interface, region_id)
    return collection(request, "endpoints", items, render_endpoint)


def show_endpoint(
    request: Request, ctx: ContextDep, deps: DepsDep, endpoint_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_endpoint", {})
    return {"endpoint": render_endpoint(request, catalog.show_endpoint(deps, endpoint_id))}


def update_endpoint(
    request: Request, ctx: ContextDep, deps: DepsDep, endpoint_id: str, body: EndpointUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_endpoint", {})
    endpoint = catalog.update_endpoint(deps, endpoint_id, body.endpoint.attributes(endpoint_id))
    return {"endpoint": render_endpoint(request, endpoint)}


def delete_endpoint(ctx: ContextDep, deps: DepsDep, endpoint_id: str) -> Response:
    authorize(ctx, "identity:delete_endpoint", {})
    catalog.delete_endpoint(deps, endpoint_id)
    return Response(status_code=204)
