"""``/v2/info/*``: import methods, stores and quota usage (discovery)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.image.api.common import ImagesDep
from tinystack.image.policies import info as info_rules

router = APIRouter(tags=["info"])


@router.get("/v2/info/import")
def import_info(ctx: ContextDep, images: ImagesDep) -> Response:
    methods = list(images.deps.opts.enabled_import_methods)
    body = {
        "import-methods": {
            "description": "Import methods available.",
            "type": "array",
            "value": methods,
        }
    }
    return JSONResponse(body)


def _store_view(images: ImagesDep) -> dict[str, object]:
    store = images.deps.store
    return {"id": store.id, "description": store.description, "default": True}


@router.get("/v2/info/stores")
def stores_info(ctx: ContextDep, images: ImagesDep) -> Response:
    return JSONResponse({"stores": [_store_view(images)]})


@router.get("/v2/info/stores/detail")
def stores_info_detail(ctx: ContextDep, images: ImagesDep) -> Response:
    ctx.can(info_rules.STORES_INFO_DETAIL, {"project_id": ctx.project_id})
    view = {**_store_view(images), "type": "file", "weight": 0, "properties": {}}
    return JSONResponse({"stores": [view]})


@router.get("/v2/info/usage")
def usage_info(ctx: ContextDep, images: ImagesDep) -> Response:
    usage = {u.name: {"limit": u.limit, "usage": u.usage} for u in images.usage(ctx)}
    return JSONResponse({"usage": usage})
