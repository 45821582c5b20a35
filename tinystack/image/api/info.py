"""``/v2/info/*``: import methods, stores and quota usage (discovery; handlers only)."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.image.api.deps import DepsDep
from tinystack.image.policies import info as info_rules
from tinystack.image.services import quotas
from tinystack.image.services.deps import Deps


def import_info(ctx: ContextDep, deps: DepsDep) -> Response:
    methods = list(deps.opts.enabled_import_methods)
    body = {
        "import-methods": {
            "description": "Import methods available.",
            "type": "array",
            "value": methods,
        }
    }
    return JSONResponse(body)


def _store_views(deps: Deps, detail: bool) -> list[dict[str, object]]:
    views: list[dict[str, object]] = []
    weighted = any(store.weight for store in deps.stores)
    for store in deps.stores:
        view: dict[str, object] = {"id": store.id, "description": store.description}
        if store.id == deps.stores.default_id:
            view["default"] = True
        if store.read_only:
            view["read-only"] = "true"  # a string, as upstream
        if detail:
            view.update(type=store.type, weight=store.weight, properties=store.properties())
        elif weighted:
            view["weight"] = store.weight  # the discovery API shows configured weights
        views.append(view)
    return views


def stores_info(ctx: ContextDep, deps: DepsDep) -> Response:
    return JSONResponse({"stores": _store_views(deps, False)})


def stores_info_detail(ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(info_rules.STORES_INFO_DETAIL, {"project_id": ctx.project_id})
    return JSONResponse({"stores": _store_views(deps, True)})


def usage_info(ctx: ContextDep, deps: DepsDep) -> Response:
    usage = {
        u.name: {"limit": u.limit, "usage": u.usage} for u in quotas.report(deps, ctx.project_id)
    }
    return JSONResponse({"usage": usage})
