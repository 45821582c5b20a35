"""Rendering compute responses: the JSON body, links, and upstream's time formats."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common import timeutils
from tinystack.common.api import pagination as pg


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Render with the standard library encoder directly (no second validation pass)."""
    data = json.dumps(body, separators=(",", ":"), default=_default).encode()
    return Response(data, status_code=status, media_type="application/json", headers=headers)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def isotime(value: datetime | None) -> str | None:
    """``2024-05-01T12:00:00Z`` (:func:`tinystack.common.timeutils.isotime`), or None."""
    return None if value is None else timeutils.isotime(value)


def plain_time(value: datetime | None) -> str | None:
    """``2024-05-01T12:00:00.123456`` (no zone), as upstream renders OS-SRV-USG times."""
    return value.isoformat() if value is not None else None


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def link(request: Request, collection: str, item: str) -> list[dict[str, str]]:
    """The self and bookmark links of one resource."""
    base = base_url(request)
    return [
        {"rel": "self", "href": f"{base}/v2.1/{collection}/{item}"},
        {"rel": "bookmark", "href": f"{base}/{collection}/{item}"},
    ]


def bookmark(request: Request, collection: str, item: str) -> list[dict[str, str]]:
    return [{"rel": "bookmark", "href": f"{base_url(request)}/{collection}/{item}"}]


def next_link(request: Request, collection: str, marker: str) -> list[dict[str, str]]:
    """``<collection>_links``: the common helper's next link, the query as sent with the
    page's last id as ``marker``."""
    url = f"{base_url(request)}/v2.1/{collection}"
    return [pg.next_link(url, request.query_params.multi_items(), marker)]
