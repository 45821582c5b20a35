"""Rendering with Neutron's field-level policy: the one documented difference of the shape.

Reading drops items the caller may not ``get_<resource>`` and attributes it may not
``get_<resource>:<attribute>`` (checked on the rendered view, as upstream does).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.auth.context import RequestContext
from tinystack.network.api.enforcement import Enforcement
from tinystack.network.api.list_params import ListParams
from tinystack.network.api.list_params import links as list_links
from tinystack.network.api.resource import Resource
from tinystack.network.exception import not_found


def visible_item(
    enf: Enforcement, res: Resource, item: dict[str, Any], fields: list[str]
) -> dict[str, Any] | None:
    """The item as the caller may see it, or None when ``get_<resource>`` denies it."""
    extra = item.get("_policy", {})
    target = {**item, **extra}
    target.pop("_policy", None)
    rule = f"get_{res.singular}"
    if not enf.allowed(rule, target):
        return None
    out = {k: v for k, v in item.items() if not k.startswith("_")}
    for key in list(out):
        attr_rule = f"{rule}:{key}"
        if attr_rule in enf.names and not enf.allowed(attr_rule, target):
            del out[key]
    if fields:
        out = {k: v for k, v in out.items() if k in fields}
    return out


def render_list(
    request: Request,
    ctx: RequestContext,
    res: Resource,
    items: list[dict[str, Any]],
    params: ListParams,
) -> Response:
    enf = Enforcement(ctx)
    shown = []
    for item in items:
        seen = visible_item(enf, res, item, params.fields)
        if seen is not None:
            shown.append(seen)
    body: dict[str, Any] = {res.plural: shown}
    links = list_links(request, res, items, params.query)
    if links:
        body[f"{res.plural}_links"] = links
    return JSONResponse(body)


def render_one(
    ctx: RequestContext,
    res: Resource,
    item: dict[str, Any],
    status: int = 200,
    fields: list[str] | None = None,
    hide_missing: bool = True,
) -> Response:
    seen = visible_item(Enforcement(ctx), res, item, fields or [])
    if seen is None:
        if hide_missing:
            raise not_found(res.singular, str(item.get("id")))
        seen = {k: v for k, v in item.items() if not k.startswith("_")}
    return JSONResponse({res.singular: seen}, status_code=status)


def render_many(
    ctx: RequestContext, res: Resource, items: list[dict[str, Any]], status: int = 201
) -> Response:
    enf = Enforcement(ctx)
    shown = []
    for item in items:
        seen = visible_item(enf, res, item, [])
        shown.append(seen if seen is not None else {"id": item.get("id")})
    return JSONResponse({res.plural: shown}, status_code=status)
