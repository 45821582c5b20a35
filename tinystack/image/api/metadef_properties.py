"""``/v2/metadefs/namespaces/{namespace}/properties``: list, create, show, replace, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.image.api.deps import DepsDep, PropertyBody
from tinystack.image.api.metadef_views import render_property
from tinystack.image.services import metadef_properties


def list_properties(namespace: str, ctx: ContextDep, deps: DepsDep) -> Response:
    records = metadef_properties.list_properties(deps, ctx, namespace)
    return JSONResponse({"properties": {r.name: dict(r.schema) for r in records}})


def create_property(namespace: str, ctx: ContextDep, deps: DepsDep, spec: PropertyBody) -> Response:
    record = metadef_properties.create(deps, ctx, namespace, spec)
    return JSONResponse(render_property(record), status_code=201)


def show_property(
    namespace: str, property_name: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    resource_type = request.query_params.get("resource_type")
    record = metadef_properties.show(deps, ctx, namespace, property_name, resource_type)
    return JSONResponse(render_property(record))


def update_property(
    namespace: str, property_name: str, ctx: ContextDep, deps: DepsDep, spec: PropertyBody
) -> Response:
    record = metadef_properties.update(deps, ctx, namespace, property_name, spec)
    return JSONResponse(render_property(record))


def delete_property(namespace: str, property_name: str, ctx: ContextDep, deps: DepsDep) -> Response:
    metadef_properties.delete(deps, ctx, namespace, property_name)
    return Response(status_code=204)
