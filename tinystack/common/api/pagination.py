"""``marker``/``limit`` pagination and ``next``/``previous`` links."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request

from tinystack.common.exceptions import BadRequest


def parse_limit(raw: str | int | None, *, default: int | None, maximum: int) -> int | None:
    if raw is None or raw == "":
        return default if default is None else min(default, maximum)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise BadRequest(f"limit must be an integer, got {raw!r}") from None
    if value < 0:
        raise BadRequest("limit must be a non-negative integer")
    return min(value, maximum)


def self_url(request: Request) -> str:
    """The request's URL without its query string, as the client addressed it."""
    return str(request.url.replace(query=""))


def next_url(request: Request, marker: str, limit: int | None = None) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "marker"]
    if limit is not None and not any(k == "limit" for k, _ in params):
        params.append(("limit", str(limit)))
    params.append(("marker", marker))
    return f"{self_url(request)}?{urlencode(params)}"
