"""``/v2/metadefs/namespaces/{namespace}/objects``: list, create, show, replace, delete."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.image.api.deps import DepsDep, ObjectBody
from tinystack.image.api.metadef_views import render_object
from tinystack.image.services import metadef_objects


def list_objects(namespace: str, ctx: ContextDep, deps: DepsDep) -> Response:
    records = metadef_objects.list_objects(deps, ctx, namespace)
    return JSONResponse(
        {
            "objects": [render_object(namespace, r) for r in records],
            "schema": "v2/schemas/metadefs/objects",
        }
    )


def create_object(namespace: str, ctx: ContextDep, deps: DepsDep, spec: ObjectBody) -> Response:
    record = metadef_objects.create(deps, ctx, namespace, spec)
    return JSONResponse(render_object(namespace, record), status_code=201)


def show_object(namespace: str, object_name: str, ctx: ContextDep, deps: DepsDep) -> Response:
    return JSONResponse(
        render_object(namespace, metadef_objects.show(deps, ctx, namespace, object_name))
    )


def update_object(
    namespace: str, object_name: str, ctx: ContextDep, deps: DepsDep, spec: ObjectBody
) -> Response:
    record = metadef_objects.update(deps, ctx, namespace, object_name, spec)
    return JSONResponse(render_object(namespace, record))


def delete_object(namespace: str, object_name: str, ctx: ContextDep, deps: DepsDep) -> Response:
    metadef_objects.delete(deps, ctx, namespace, object_name)
    return Response(status_code=204)
