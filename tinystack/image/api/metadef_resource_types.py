"""``/v2/metadefs/resource_types`` and a namespace's resource type associations."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.image.api.deps import AssociationBody, DepsDep
from tinystack.image.api.metadef_views import render_association, render_resource_type
from tinystack.image.services import metadef_resource_types


def list_resource_types(ctx: ContextDep, deps: DepsDep) -> Response:
    records = metadef_resource_types.list_resource_types(deps, ctx)
    return JSONResponse({"resource_types": [render_resource_type(r) for r in records]})


def list_associations(namespace: str, ctx: ContextDep, deps: DepsDep) -> Response:
    records = metadef_resource_types.list_associations(deps, ctx, namespace)
    return JSONResponse({"resource_type_associations": [render_association(r) for r in records]})


def create_association(
    namespace: str, ctx: ContextDep, deps: DepsDep, association: AssociationBody
) -> Response:
    record = metadef_resource_types.create_association(deps, ctx, namespace, association)
    return JSONResponse(render_association(record), status_code=201)


def delete_association(
    namespace: str, resource_type: str, ctx: ContextDep, deps: DepsDep
) -> Response:
    metadef_resource_types.delete_association(deps, ctx, namespace, resource_type)
    return Response(status_code=204)
