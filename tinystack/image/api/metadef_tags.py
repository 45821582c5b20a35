"""``/v2/metadefs/namespaces/{namespace}/tags``: list, create one or many, show, rename, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.image.api.deps import DepsDep, TagBody, TagsBody
from tinystack.image.api.metadef_views import render_tag
from tinystack.image.services import metadef_tags

_TRUE = ("1", "t", "true", "on", "y", "yes")


def list_tags(namespace: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    pairs = request.query_params.multi_items()
    records = metadef_tags.list_tags(deps, ctx, namespace, pairs)
    return JSONResponse({"tags": [render_tag(t) for t in records]})


def create_tags(
    namespace: str, request: Request, ctx: ContextDep, deps: DepsDep, names: TagsBody
) -> Response:
    append = request.headers.get("x-openstack-append", "").strip().lower() in _TRUE
    records = metadef_tags.create_many(deps, ctx, namespace, names, append)
    return JSONResponse({"tags": [{"name": t.name} for t in records]}, status_code=201)


def create_tag(namespace: str, tag_name: str, ctx: ContextDep, deps: DepsDep) -> Response:
    record = metadef_tags.create(deps, ctx, namespace, tag_name)
    return JSONResponse(render_tag(record), status_code=201)


def show_tag(namespace: str, tag_name: str, ctx: ContextDep, deps: DepsDep) -> Response:
    return JSONResponse(render_tag(metadef_tags.show(deps, ctx, namespace, tag_name)))


def update_tag(
    namespace: str, tag_name: str, ctx: ContextDep, deps: DepsDep, new_name: TagBody
) -> Response:
    return JSONResponse(render_tag(metadef_tags.update(deps, ctx, namespace, tag_name, new_name)))


def delete_tag(namespace: str, tag_name: str, ctx: ContextDep, deps: DepsDep) -> Response:
    metadef_tags.delete_tag(deps, ctx, namespace, tag_name)
    return Response(status_code=204)
