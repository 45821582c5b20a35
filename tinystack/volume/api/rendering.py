"""Rendering volume responses: the JSON body, links, next links and upstream's times."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api import pagination as pg


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Render with the standard library encoder directly (no second validation pass)."""
    data = json.dumps(body, separators=(",", ":"), default=_default).encode()
    return Response(data, status_code=status, media_type="application/json", headers=headers)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return cinder_time(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def cinder_time(value: datetime | None) -> str | None:
    """``2024-05-01T12:00:00.123456`` (naive UTC, microseconds), as cinder renders times."""
    if value is None:
        return None
    return value.replace(tzinfo=None).isoformat(timespec="microseconds")


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def project_base(request: Request, project_id: str | None) -> str:
    """``http://host:8776/v3/<project>`` (``/v3`` when there is no project)."""
    base = f"{base_url(request)}/v3"
    return f"{base}/{project_id}" if project_id else base


def links(request: Request, project_id: str | None, collection: str, item: str) -> list[Any]:
    """The self and bookmark links of one resource, as upstream's view builders."""
    bookmark = f"{base_url(request)}/{project_id}/{collection}/{item}"
    if not project_id:
        bookmark = f"{base_url(request)}/{collection}/{item}"
    return [
        {"rel": "self", "href": f"{project_base(request, project_id)}/{collection}/{item}"},
        {"rel": "bookmark", "href": bookmark},
    ]


def next_link(
    request: Request, project_id: str | None, collection: str, marker: str
) -> list[dict[str, str]]:
    """``<collection>_links``: the query as sent, with the page's last id as ``marker``."""
    url = f"{project_base(request, project_id)}/{collection}"
    return [pg.next_link(url, request.query_params.multi_items(), marker)]
