"""List query parameters (filters, sorting, paging, ``fields``) and paging links."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request

from tinystack.common.exceptions import BadRequest
from tinystack.network.api.resource import Resource
from tinystack.network.exception import http_bad_request
from tinystack.network.services.deps import Deps
from tinystack.network.services.listing import TAG_FILTERS, ListQuery

#: query parameters that are never filters
RESERVED = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse", *TAG_FILTERS}


@dataclass
class ListParams:
    query: ListQuery
    fields: list[str]


def list_params(request: Request, res: Resource, max_limit: int = -1) -> ListParams:
    params = request.query_params
    filters: dict[str, list[str]] = {}
    invalid = []
    for key in dict.fromkeys(params.keys()):
        if key in RESERVED:
            continue
        values = [v for v in params.getlist(key) if v != ""]
        if key not in res.filters:
            invalid.append(key)
        elif values:
            filters[key] = values
    if invalid:
        raise http_bad_request(f"{invalid} is invalid attribute for filtering")
    if "tenant_id" in filters and "project_id" in filters:
        raise BadRequest(
            "Both tenant_id and project_id passed as filters.",
            code="TenantIdProjectIdFilterConflict",
        )
    tags = {
        kind: [t for v in params.getlist(kind) for t in v.split(",") if t]
        for kind in TAG_FILTERS
        if params.getlist(kind)
    }
    query = ListQuery(
        filters=filters,
        sorts=_sorts(request, res),
        limit=_limit(params.get("limit"), max_limit),
        marker=params.get("marker") or None,
        page_reverse=str(params.get("page_reverse", "false")).lower() == "true",
        tag_filters=tags,
    )
    fields = [f for f in params.getlist("fields") if f]
    return ListParams(query, fields)


def _sorts(request: Request, res: Resource) -> list[tuple[str, bool]]:
    keys = [k for k in request.query_params.getlist("sort_key") if k]
    dirs = [d for d in request.query_params.getlist("sort_dir") if d]
    if dirs and len(keys) != len(dirs):
        raise http_bad_request("The number of sort_keys and sort_dirs must be same")
    dirs = dirs or ["asc"] * len(keys)
    allowed = res.sort_keys or res.filters
    absent = [k for k in keys if k not in allowed]
    if absent:
        raise http_bad_request(f"{absent} is invalid attribute for sort_keys")
    bad = [d for d in dirs if d not in ("asc", "desc")]
    if bad:
        raise http_bad_request(
            f"{bad} is invalid value for sort_dirs, valid value is 'asc' and 'desc'"
        )
    return [(k, d == "asc") for k, d in zip(keys, dirs, strict=True)]


def _limit(raw: str | None, max_limit: int) -> int | None:
    value = 0
    if raw not in (None, ""):
        try:
            value = int(str(raw))
        except ValueError:
            value = -1
        if value < 0:
            raise BadRequest(
                f"Bad limit request: Limit must be an integer 0 or greater and not '{raw}'.",
                code="BadRequest",
            )
    if max_limit > 0:
        value = min(max_limit, value) or max_limit
    return value or None


def links(request: Request, res: Resource, items: list[dict[str, Any]], q: ListQuery) -> list[Any]:
    limit = q.limit
    if not limit:
        return []
    base = str(request.url.replace(query=""))
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    links = []
    if not (len(items) < limit and not q.page_reverse):
        nxt = [(k, v) for k, v in params if k != "page_reverse"]
        if items:
            nxt.append(("marker", items[-1]["id"]))
        links.append({"rel": "next", "href": f"{base}?{urlencode(nxt)}"})
    if not (len(items) < limit and q.page_reverse):
        prev = [(k, v) for k, v in params if k != "page_reverse"]
        if items:
            prev.append(("marker", items[0]["id"]))
        prev.append(("page_reverse", "True"))
        links.append({"rel": "previous", "href": f"{base}?{urlencode(prev)}"})
    return links


def fields_of(request: Request) -> list[str]:
    return [f for f in request.query_params.getlist("fields") if f]


def max_limit(deps: Deps) -> int:
    return deps.opts.pagination_max_limit
