"""FastAPI dependencies of the load balancer handlers: ``DepsDep`` and the list query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from tinystack.load_balancer.services.deps import Deps

STATE_KEY = "load_balancer"
#: query parameters that are not attribute filters
_PAGING = {"limit", "marker", "sort", "sort_key", "sort_dir", "page_reverse", "fields"}


def _deps(request: Request) -> Deps:
    deps: Deps = getattr(request.app.state, STATE_KEY)
    return deps


@dataclass(frozen=True, slots=True)
class ListQuery:
    filters: tuple[tuple[str, str], ...]
    limit: str | None
    marker: str | None


def _query(request: Request) -> ListQuery:
    params = request.query_params
    filters = tuple((k, v) for k, v in params.multi_items() if k not in _PAGING)
    return ListQuery(filters, params.get("limit"), params.get("marker"))


DepsDep = Annotated[Deps, Depends(_deps)]
QueryDep = Annotated[ListQuery, Depends(_query)]
