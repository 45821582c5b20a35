"""``/images``: the image proxy API (2.1–2.35; its metadata until 2.38).

A thin view of the image service, as the caller (their token) sees it.  There
are no compute policies: the image service decides who may see or change what.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Body, Request
from starlette.responses import Response

from tinystack.common.auth.context import RequestContext
from tinystack.common.clients.session import ClientError
from tinystack.common.exceptions import BadRequest, Forbidden, NotFound
from tinystack.compute.api.deps import ContextDep, DepsDep
from tinystack.compute.api.microversion import Version, VersionDep
from tinystack.compute.api.openapi import policies, request_model
from tinystack.compute.api.query import limit_and_marker, parse_time
from tinystack.compute.api.rendering import base_url, json_response, next_link
from tinystack.compute.api.schemas import MetadataRequest, MetaItemRequest, _metadata
from tinystack.compute.context import CallContext
from tinystack.compute.services.deps import Deps

router = APIRouter(tags=["images"])

PROXY_MAX = Version(2, 35)
METADATA_MAX = Version(2, 38)
#: glance v2 attributes that are not image "properties"
CORE = frozenset(
    {
        "id", "name", "status", "visibility", "protected", "checksum", "owner", "size",
        "virtual_size", "container_format", "disk_format", "created_at", "updated_at",
        "tags", "direct_url", "min_ram", "min_disk", "self", "file", "schema", "locations",
        "os_hash_algo", "os_hash_value", "os_hidden", "stores", "deleted", "deleted_at",
        "is_public",
    }
)  # fmt: skip
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


def _token(ctx: RequestContext) -> str | None:
    return CallContext.from_request(ctx).token


def properties(image: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in image.items() if k not in CORE}


def _load(deps: Deps, ctx: RequestContext, image_id: str) -> dict[str, Any]:
    if not deps.image.available():
        raise NotFound("Image not found.")
    try:
        image = deps.image.get(image_id, token=_token(ctx))
    except ClientError as exc:
        if exc.status == 403:
            raise Forbidden(exc.message) from exc
        if exc.status in (400, 404):
            raise NotFound("Image not found.") from exc
        raise
    if image is None:
        raise NotFound("Image not found.")
    return image


def _links(request: Request, deps: Deps, image_id: str) -> list[dict[str, str]]:
    base = base_url(request)
    found = [
        {"rel": "self", "href": f"{base}/v2.1/images/{image_id}"},
        {"rel": "bookmark", "href": f"{base}/images/{image_id}"},
    ]
    if deps.image.available():
        glance = deps.session.endpoint("image").rstrip("/")
        found.append(
            {
                "rel": "alternate",
                "type": "application/vnd.openstack.image",
                "href": f"{glance}/images/{image_id}",
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


def show_view(request: Request, deps: Deps, image: dict[str, Any]) -> dict[str, Any]:
    props = properties(image)
    view: dict[str, Any] = {
        "id": image["id"],
        "name": image.get("name"),
        "minRam": int(image.get("min_ram") or 0),
        "minDisk": int(image.get("min_disk") or 0),
        "metadata": props,
        "created": _time(image.get("created_at")),
        "updated": _time(image.get("updated_at")),
        "status": STATUS.get(str(image.get("status")), "UNKNOWN"),
        "progress": PROGRESS.get(str(image.get("status")), 0),
        "OS-EXT-IMG-SIZE:size": image.get("size"),
        "links": _links(request, deps, image["id"]),
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
    minimum = {
        "min_ram": _int_param(query.get("minRam"), "minRam"),
        "min_disk": _int_param(query.get("minDisk"), "minDisk"),
    }
    images: list[dict[str, Any]] = []
    if deps.image.available():
        try:
            images = deps.image.list_images(
                params, token=_token(ctx), limit=limit or 1, follow=False
            )
        except ClientError as exc:
            raise BadRequest(exc.message) from exc
    images = [
        image
        for image in images
        if all(int(image.get(k) or 0) >= v for k, v in minimum.items() if v is not None)
    ][:limit]
    if detail:
        items = [show_view(request, deps, image) for image in images]
    else:
        items = [
            {"id": i["id"], "name": i.get("name"), "links": _links(request, deps, i["id"])}
            for i in images
        ]
    body: dict[str, Any] = {"images": items}
    if images and len(images) == limit:
        collection = "images/detail" if detail else "images"
        body["images_links"] = next_link(request, collection, images[-1]["id"])
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
    return json_response({"image": show_view(request, deps, _load(deps, ctx, image_id))})


@router.delete("/images/{image_id}", status_code=204, openapi_extra=policies())
def delete_image(image_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    _gate(version, PROXY_MAX)
    if not deps.image.available():
        raise NotFound("Image not found.")
    try:
        found = deps.image.delete(image_id, token=_token(ctx))
    except ClientError as exc:
        if exc.status == 403:
            raise Forbidden("You are not allowed to delete the image.") from exc
        if exc.status == 400:
            raise NotFound("Image not found.") from exc
        raise
    if not found:
        raise NotFound("Image not found.")
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


def _save(
    deps: Deps, ctx: RequestContext, image: dict[str, Any], wanted: dict[str, Any]
) -> dict[str, Any]:
    """Make the image's properties exactly ``wanted``."""
    allowed = int(deps.opts.quota_metadata_items)
    if 0 <= allowed < len(wanted):
        raise Forbidden("Image metadata limit exceeded")
    current = properties(image)
    changes: list[dict[str, Any]] = [
        {"op": "remove", "path": f"/{_pointer(key)}"} for key in current if key not in wanted
    ]
    changes.extend(
        {"op": "add", "path": f"/{_pointer(key)}", "value": value}
        for key, value in wanted.items()
        if current.get(key) != value
    )
    if not changes:
        return image
    try:
        return deps.image.update(image["id"], changes, token=_token(ctx))
    except ClientError as exc:
        if exc.status == 403:
            raise Forbidden(exc.message) from exc
        if exc.status == 404:
            raise NotFound("Image not found.") from exc
        raise BadRequest(exc.message) from exc


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


@router.get("/images/{image_id}/metadata", openapi_extra=policies())
def list_metadata(image_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    _gate(version, METADATA_MAX)
    return json_response({"metadata": properties(_load(deps, ctx, image_id))})


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
    image = _load(deps, ctx, image_id)
    saved = _save(deps, ctx, image, {**properties(image), **items})
    return json_response({"metadata": properties(saved)})


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
    _save(deps, ctx, _load(deps, ctx, image_id), items)
    return json_response({"metadata": items})


@router.get("/images/{image_id}/metadata/{key}", openapi_extra=policies())
def show_metadata_item(
    image_id: str, key: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    _gate(version, METADATA_MAX)
    props = properties(_load(deps, ctx, image_id))
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
    image = _load(deps, ctx, image_id)
    _save(deps, ctx, image, {**properties(image), key: meta[key]})
    return json_response({"meta": meta})


@router.delete("/images/{image_id}/metadata/{key}", status_code=204, openapi_extra=policies())
def delete_metadata_item(
    image_id: str, key: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    _gate(version, METADATA_MAX)
    image = _load(deps, ctx, image_id)
    props = properties(image)
    if key not in props:
        raise NotFound("Invalid metadata key")
    del props[key]
    _save(deps, ctx, image, props)
    return Response(status_code=204)
