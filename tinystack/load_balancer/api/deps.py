"""FastAPI dependencies of the load balancer handlers: ``DepsDep`` and the list query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from tinystack.load_balancer.services.deps import Deps
from tinystack.load_balancer.services.inputs import ListPage

STATE_KEY = "load_balancer"
#: query parameters that are not attribute filters
_PAGING = {"limit", "marker", "sort", "sort_key", "sort_dir", "page_reverse", "fields"}


def _deps(request: Request) -> Deps:
    deps: Deps = getattr(request.app.state, STATE_KEY)
    return deps


@dataclass(frozen=True, slots=True)
class ListQuery:
    #: filters, limit, marker and the (attribute, descending) pairs from
    #: ``sort=a:asc,b:desc`` or ``sort_key``/``sort_dir``
    page: ListPage
    #: ``fields=a&fields=b`` (or ``fields=a,b``): the attributes each object is cut to
    fields: tuple[str, ...] = ()


def _query(request: Request) -> ListQuery:
    params = request.query_params
    filters = tuple((k, v) for k, v in params.multi_items() if k not in _PAGING)
    sort: list[tuple[str, bool]] = []
    for item in ",".join(params.getlist("sort")).split(","):
        key, _, direction = item.strip().partition(":")
        if key:
            sort.append((key, direction.lower() == "desc"))
    keys, dirs = params.getlist("sort_key"), params.getlist("sort_dir")
    for n, key in enumerate(keys):
        sort.append((key, (dirs[n] if n < len(dirs) else "asc").lower() == "desc"))
    fields = tuple(f for raw in params.getlist("fields") for f in raw.split(",") if f)
    page = ListPage(filters, params.get("limit"), params.get("marker"), tuple(sort))
    return ListQuery(page, fields)


DepsDep = Annotated[Deps, Depends(_deps)]
QueryDep = Annotated[ListQuery, Depends(_query)]
