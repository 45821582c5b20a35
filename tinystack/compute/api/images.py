"""``/images``: the image proxy API (2.1–2.35; its metadata until 2.38).

A thin view of the image service, as the caller (their token) sees it.  There
are no compute policies: the image service decides who may see or change what.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute.api.deps import ContextDep, DepsDep
from tinystack.compute.api.microversion import Version, VersionDep
from tinystack.compute.api.query import limit_and_marker, parse_time
from tinystack.compute.api.rendering import base_url, json_response, next_link
from tinystack.compute.api.schemas import MetadataRequest, MetaItemRequest, _metadata
from tinystack.compute.services import images as image_service
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.images import ImageRecord

router = APIRouter(tags=["images"])

PROXY_MAX = Version(2, 35)
METADATA_MAX = Version(2, 38)
STATUS = {
    "active": "ACTIVE",
    "queued": "SAVING",
    "saving": "SAVING",
    "deleted": "DELETED",
    "pending_delete": "DELETED",
    "killed": "ERROR",
}
PROGRESS = {"queued": 25, "saving": 50, "active": 100}
FILTERS = {
    "name": "name",
    "status": "status",
    "server": "instance_uuid",
    "type": "image_type",
}


def _gate(version: Version, maximum: Version) -> None:
    if version > maximum:
        raise NotFound("The resource could not be found.")


def _links(request: Request, image: ImageRecord) -> list[dict[str, str]]:
    base = base_url(request)
    found = [
        {"rel": "self", "href": f"{base}/v2.1/images/{image.id}"},
        {"rel": "bookmark", "href": f"{base}/images/{image.id}"},
    ]
    if image.glance_href is not None:
        found.append(
            {
                "rel": "alternate",
                "type": "application/vnd.openstack.image",
                "href": image.glance_href,
            }
        )
    return found


def _time(raw: Any) -> str | None:
    if not raw:
        return None
    text = str(raw).replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return str(raw)


def show_view(request: Request, image: ImageRecord) -> dict[str, Any]:
    props = dict(image.properties)
    view: dict[str, Any] = {
        "id": image.id,
        "name": image.name,
        "minRam": image.min_ram,
        "minDisk": image.min_disk,
        "metadata": props,
        "created": _time(image.created_at),
        "updated": _time(image.updated_at),
        "status": STATUS.get(image.status, "UNKNOWN"),
        "progress": PROGRESS.get(image.status, 0),
        "OS-EXT-IMG-SIZE:size": image.size,
        "links": _links(request, image),
    }
    server = props.get("instance_uuid")
    if server is not None:
        base = base_url(request)
        view["server"] = {
            "id": server,
            "links": [
                {"rel": "self", "href": f"{base}/v2.1/servers/{server}"},
                {"rel": "bookmark", "href": f"{base}/servers/{server}"},
            ],
        }
    auto = props.get("auto_disk_config")
    if auto is not None:
        on = str(auto).strip().lower() in ("1", "t", "true", "on", "y", "yes")
        view["OS-DCF:diskConfig"] = "AUTO" if on else "MANUAL"
    return view


def _list(request: Request, ctx: RequestContext, deps: Deps, detail: bool) -> dict[str, Any]:
    limit, marker = limit_and_marker(request, deps.opts.max_limit)
    params: dict[str, str] = {}
    query = request.query_params
    for key, target in FILTERS.items():
        if key in query:
            params[target] = query[key]
    for key, value in query.items():
        if key.startswith("property-"):
            params[key[len("property-") :]] = value
    if "instance_uuid" in params:
        params["instance_uuid"] = params["instance_uuid"].rsplit("/", 1)[-1]
    if "status" in params:
        params["status"] = params["status"].lower()
    if "changes-since" in query:
        since = parse_time(query["changes-since"], "changes-since")
        params["updated_at"] = "gte:" + since.strftime("%Y-%m-%dT%H:%M:%SZ")
    if marker:
        params["marker"] = marker
    images = image_service.list_images(
        deps,
        CallContext.from_request(ctx),
        params,
        limit=limit,
        min_ram=_int_param(query.get("minRam"), "minRam"),
        min_disk=_int_param(query.get("minDisk"), "minDisk"),
    )
    if detail:
        items = [show_view(request, image) for image in images]
    else:
        items = [{"id": i.id, "name": i.name, "links": _links(request, i)} for i in images]
    body: dict[str, Any] = {"images": items}
    if images and len(images) == limit:
        collection = "images/detail" if detail else "images"
        body["images_links"] = next_link(request, collection, images[-1].id)
    return body


def _int_param(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadRequest(f"Invalid {name} filter: {raw}") from None


@router.get("/images", openapi_extra=policies())
def list_images(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    _gate(version, PROXY_MAX)
    return json_response(_list(request, ctx, deps, detail=False))


@router.get("/images/detail", openapi_extra=policies())
def list_images_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    _gate(version, PROXY_MAX)
    return json_response(_list(request, ctx, deps, detail=True))


@router.get("/images/{image_id}", openapi_extra=policies())
def show_image(
    request: Request, image_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    _gate(version, PROXY_MAX)
    image = image_service.get(deps, CallContext.from_request(ctx), image_id)
    return json_response({"image": show_view(request, image)})


@router.delete("/images/{image_id}", status_code=204, openapi_extra=policies())
def delete_image(image_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    _gate(version, PROXY_MAX)
    image_service.delete(deps, CallContext.from_request(ctx), image_id)
    return Response(status_code=204)


# -- metadata ---------------------------------------------------------------------------------
def _items(body: Any, key: str) -> dict[str, str]:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise BadRequest("Malformed request body")
    extra = sorted(set(body) - {key})
    if extra:
        raise BadRequest(f"Additional properties are not allowed ({extra[0]!r} was unexpected)")
    items = body[key]
    for value in items.values():
        if not isinstance(value, str):
            raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value!r}.")
    try:
        return _metadata(dict(items))
    except ValueError as exc:
        raise BadRequest(f"Invalid input for field/attribute {key}. {exc}") from None


@router.get("/images/{image_id}/metadata", openapi_extra=policies())
def list_metadata(image_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    _gate(version, METADATA_MAX)
    image = image_service.get(deps, CallContext.from_request(ctx), image_id)
    return json_response({"metadata": dict(image.properties)})


@router.post(
    "/images/{image_id}/metadata", openapi_extra=policies() | request_model(MetadataRequest)
)
def update_metadata(
    image_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: Any = Body(None),
) -> Response:
    _gate(version, METADATA_MAX)
    items = _items(body, "metadata")
    saved = image_service.merge_properties(deps, CallContext.from_request(ctx), image_id, items)
    return json_response({"metadata": dict(saved.properties)})


@router.put(
    "/images/{image_id}/metadata", openapi_extra=policies() | request_model(MetadataRequest)
)
def replace_metadata(
    image_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: Any = Body(None),
) -> Response:
    _gate(version, METADATA_MAX)
    items = _items(body, "metadata")
    image_service.replace_properties(deps, CallContext.from_request(ctx), image_id, items)
    return json_response({"metadata": items})


@router.get("/images/{image_id}/metadata/{key}", openapi_extra=policies())
def show_metadata_item(
    image_id: str, key: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    _gate(version, METADATA_MAX)
    props = image_service.get(deps, CallContext.from_request(ctx), image_id).properties
    if key not in props:
        raise NotFound("The resource could not be found.")
    return json_response({"meta": {key: props[key]}})


@router.put(
    "/images/{image_id}/metadata/{key}", openapi_extra=policies() | request_model(MetaItemRequest)
)
def set_metadata_item(
    image_id: str,
    key: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: Any = Body(None),
) -> Response:
    _gate(version, METADATA_MAX)
    meta = _items(body, "meta")
    if key not in meta:
        raise BadRequest("Request body and URI mismatch")
    if len(meta) > 1:
        raise BadRequest("Request body contains too many items")
    image_service.set_property(deps, CallContext.from_request(ctx), image_id, key, meta[key])
    return json_response({"meta": meta})


@router.delete("/images/{image_id}/metadata/{key}", status_code=204, openapi_extra=policies())
def delete_metadata_item(
    image_id: str, key: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    _gate(version, METADATA_MAX)
    image_service.delete_property(deps, CallContext.from_request(ctx), image_id, key)
    return Response(status_code=204)
