"""``/v2/metadefs/namespaces``: list, create, show, replace, delete (handlers only)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api import pagination
from tinystack.common.api.deps import ContextDep
from tinystack.image.api.deps import DepsDep, NamespaceBody
from tinystack.image.api.metadef_views import NAMESPACES, namespace_href, render_namespace
from tinystack.image.policies import metadefs as rules
from tinystack.image.services import metadef_namespaces


def list_namespaces(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(rules.GET_NAMESPACES, {"project_id": ctx.project_id})
    ctx.can(rules.LIST_RESOURCE_TYPES, {"project_id": ctx.project_id})
    pairs = request.query_params.multi_items()
    records, next_marker = metadef_namespaces.list_namespaces(deps, ctx, pairs)
    links = pagination.first_next(NAMESPACES, pairs, next_marker)
    body: dict[str, object] = {
        "namespaces": [render_namespace(r) for r in records],
        "first": links["first"],
        "schema": "/v2/schemas/metadefs/namespaces",
    }
    if "next" in links:
        body["next"] = links["next"]
    return JSONResponse(body)


def create_namespace(ctx: ContextDep, deps: DepsDep, spec: NamespaceBody) -> Response:
    record = metadef_namespaces.create(deps, ctx, spec)
    # a header carries the name percent-encoded (it may hold what a header cannot)
    headers = {"Location": quote(namespace_href(record.namespace), safe="/")}
    return JSONResponse(render_namespace(record), status_code=201, headers=headers)


def show_namespace(namespace: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    resource_type = request.query_params.get("resource_type")
    return JSONResponse(
        render_namespace(metadef_namespaces.show(deps, ctx, namespace, resource_type))
    )


def update_namespace(
    namespace: str, ctx: ContextDep, deps: DepsDep, spec: NamespaceBody
) -> Response:
    return JSONResponse(render_namespace(metadef_namespaces.update(deps, ctx, namespace, spec)))


def delete_namespace(namespace: str, ctx: ContextDep, deps: DepsDep) -> Response:
    metadef_namespaces.delete_namespace(deps, ctx, namespace)
    return Response(status_code=204)


def delete_objects(namespace: str, ctx: ContextDep, deps: DepsDep) -> Response:
    metadef_namespaces.delete_content(deps, ctx, namespace, "objects")
    return Response(status_code=204)


def delete_properties(namespace: str, ctx: ContextDep, deps: DepsDep) -> Response:
    metadef_namespaces.delete_content(deps, ctx, namespace, "properties")
    return Response(status_code=204)


def delete_tags(namespace: str, ctx: ContextDep, deps: DepsDep) -> Response:
    metadef_namespaces.delete_content(deps, ctx, namespace, "tags")
    return Response(status_code=204)
