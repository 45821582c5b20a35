"""Query strings of the volume API's lists: upstream's paging (marker, limit, offset),
sorting (``sort=key:dir,...`` or the older ``sort_key``/``sort_dir``) and filters."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from tinystack.common.exceptions import BadRequest
from tinystack.volume.api.schemas import FALSE, TRUE

PAGING = {"marker", "limit", "offset", "sort", "sort_key", "sort_dir", "with_count"}


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    marker: str | None
    offset: int
    #: the client asked for a limit (the next link appears when a page is full)
    asked: bool


def page(request: Request, max_limit: int) -> Page:
    params = request.query_params
    raw = params.get("limit")
    limit = max_limit
    if raw is not None:
        try:
            limit = int(raw)
        except ValueError:
            raise BadRequest("limit param must be an integer") from None
        if limit < 0:
            raise BadRequest("limit param must be positive")
        limit = min(limit, max_limit)
    offset = 0
    if params.get("offset") is not None:
        try:
            offset = int(params["offset"])
        except ValueError:
            raise BadRequest("offset param must be an integer") from None
        if offset < 0:
            raise BadRequest("offset param must be positive")
    return Page(limit, params.get("marker") or None, offset, raw is not None)


def sort(
    request: Request, default_key: str = "created_at", default_dir: str = "desc"
) -> list[tuple[str, str]]:
    params = request.query_params
    if "sort" in params and ("sort_key" in params or "sort_dir" in params):
        raise BadRequest(
            "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with "
            "the 'sort' parameter."
        )
    found: list[tuple[str, str]] = []
    if "sort" in params:
        for item in params["sort"].strip().split(","):
            key, _, direction = item.partition(":")
            found.append((key.strip(), (direction or default_dir).strip()))
    else:
        found.append(
            (
                params.get("sort_key", default_key).strip(),
                params.get("sort_dir", default_dir).strip(),
            )
        )
    for key, direction in found:
        if direction.lower() not in ("asc", "desc"):
            raise BadRequest("Unknown sort direction, must be 'desc' or 'asc'")
        if not key:
            raise BadRequest("Invalid sort key")
    return [(key, direction.lower()) for key, direction in found]


def flag(value: str | None, name: str, *, strict: bool = True) -> bool:
    """A boolean query parameter (upstream's ``get_bool_param``)."""
    if value is None:
        return False
    text = value.strip().lower()
    if text in TRUE:
        return True
    if text in FALSE or not strict:
        return False
    raise BadRequest(f"Invalid value '{value}' for {name} filter.")


def mapping(value: str, name: str) -> dict[str, str]:
    """A dict-valued filter (``metadata={'k': 'v'}``), as a Python or JSON literal."""
    parsed: Any
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        try:
            parsed = json.loads(value)
        except ValueError:
            raise BadRequest(f"Invalid filter {name}: {value}") from None
    if not isinstance(parsed, dict):
        raise BadRequest(f"Invalid filter {name}: {value}")
    return {str(k): str(v) for k, v in parsed.items()}


def remaining(request: Request) -> dict[str, str]:
    """The query's parameters other than paging and sorting."""
    return {k: v for k, v in request.query_params.items() if k not in PAGING}
