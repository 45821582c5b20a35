"""``/v2/images`` and ``/v2/images/{image_id}``: list, create, show, update, delete, actions.

Handlers only; routes are in :mod:`tinystack.image.api.router`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api import pagination
from tinystack.common.api.deps import ContextDep
from tinystack.image.api.deps import DepsDep, ImageCreateBody, ImagePatchBody
from tinystack.image.api.views import image_href, render_image
from tinystack.image.policies import images as image_rules
from tinystack.image.services import images


def list_images(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(image_rules.GET_IMAGES, {"project_id": ctx.project_id})
    pairs = request.query_params.multi_items()
    records, next_marker = images.list_images(deps, ctx, pairs)
    links = pagination.first_next("/v2/images", pairs, next_marker)
    body: dict[str, object] = {
        "images": [render_image(r, deps.stores.by_weight) for r in records],
        "first": links["first"],
        "schema": "/v2/schemas/images",
    }
    if "next" in links:
        body["next"] = links["next"]
    return JSONResponse(body)


def create_image(ctx: ContextDep, deps: DepsDep, body: ImageCreateBody) -> Response:
    record = images.create(deps, ctx, body)
    headers = {
        "Location": image_href(record.id),
        "OpenStack-image-import-methods": ",".join(deps.opts.enabled_import_methods),
        "OpenStack-image-store-ids": ",".join(deps.stores.writable_ids()),
    }
    return JSONResponse(
        render_image(record, deps.stores.by_weight), status_code=201, headers=headers
    )


def show_image(image_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    return JSONResponse(render_image(images.show(deps, ctx, image_id), deps.stores.by_weight))


def update_image(
    image_id: str, ctx: ContextDep, deps: DepsDep, changes: ImagePatchBody
) -> Response:
    record = images.update(deps, ctx, image_id, changes)
    return JSONResponse(render_image(record, deps.stores.by_weight))


def delete_image(image_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    images.delete(deps, ctx, image_id)
    return Response(status_code=204)


def deactivate_image(image_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    images.deactivate(deps, ctx, image_id)
    return Response(status_code=204)


def reactivate_image(image_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    images.reactivate(deps, ctx, image_id)
    return Response(status_code=204)
