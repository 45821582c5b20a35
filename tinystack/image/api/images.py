"""``/v2/images`` and ``/v2/images/{image_id}``: list, create, show, update, delete, actions."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import UnsupportedMediaType
from tinystack.image.api.common import ImagesDep, JsonBody, image_href, read_json, render_image
from tinystack.image.validation import PATCH_MEDIA_TYPES

router = APIRouter(tags=["images"])


class PatchMediaTypeError(UnsupportedMediaType):
    def __init__(self) -> None:
        allowed = ", ".join(sorted(PATCH_MEDIA_TYPES))
        super().__init__(f"Image PATCH expects Content-Type one of: {allowed}")
        self.headers = {"Accept-Patch": allowed}


def _patch_draft(request: Request) -> int:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in PATCH_MEDIA_TYPES:
        raise PatchMediaTypeError()
    return PATCH_MEDIA_TYPES[media_type]


async def _patch_body(request: Request) -> tuple[int, Any]:
    """The patch media type's draft (415 first, as upstream) and the parsed body."""
    draft = _patch_draft(request)
    return draft, await read_json(request)


PatchBody = Annotated[tuple[int, Any], Depends(_patch_body)]


@router.get("/v2/images")
def list_images(request: Request, ctx: ContextDep, images: ImagesDep) -> Response:
    pairs = request.query_params.multi_items()
    records, next_marker = images.list(ctx, pairs)
    kept = [(k, v) for k, v in pairs if k != "marker"]
    body: dict[str, object] = {
        "images": [render_image(r) for r in records],
        "first": "/v2/images" + (f"?{urlencode(kept)}" if kept else ""),
        "schema": "/v2/schemas/images",
    }
    if next_marker is not None:
        body["next"] = "/v2/images?" + urlencode([*kept, ("marker", next_marker)])
    return JSONResponse(body)


@router.post("/v2/images", status_code=201)
def create_image(ctx: ContextDep, images: ImagesDep, body: JsonBody) -> Response:
    record = images.create(ctx, body)
    headers = {
        "Location": image_href(record.id),
        "OpenStack-image-import-methods": ",".join(images.deps.opts.enabled_import_methods),
        "OpenStack-image-store-ids": images.deps.store.id,
    }
    return JSONResponse(render_image(record), status_code=201, headers=headers)


@router.get("/v2/images/{image_id}")
def show_image(image_id: str, ctx: ContextDep, images: ImagesDep) -> Response:
    return JSONResponse(render_image(images.show(ctx, image_id)))


@router.patch("/v2/images/{image_id}")
def update_image(image_id: str, ctx: ContextDep, images: ImagesDep, patch: PatchBody) -> Response:
    draft, body = patch
    return JSONResponse(render_image(images.update(ctx, image_id, body, draft)))


@router.delete("/v2/images/{image_id}", status_code=204)
def delete_image(image_id: str, ctx: ContextDep, images: ImagesDep) -> Response:
    images.delete(ctx, image_id)
    return Response(status_code=204)


@router.post("/v2/images/{image_id}/actions/deactivate", status_code=204)
def deactivate_image(image_id: str, ctx: ContextDep, images: ImagesDep) -> Response:
    images.deactivate(ctx, image_id)
    return Response(status_code=204)


@router.post("/v2/images/{image_id}/actions/reactivate", status_code=204)
def reactivate_image(image_id: str, ctx: ContextDep, images: ImagesDep) -> Response:
    images.reactivate(ctx, image_id)
    return Response(status_code=204)
