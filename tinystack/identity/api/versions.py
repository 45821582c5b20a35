"""Version discovery: ``/`` (300 Multiple Choices) and ``/v3``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from tinystack.identity.api.views import base_url

UPDATED = "2024-04-01T00:00:00Z"


def _v3(request: Request) -> dict[str, Any]:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": UPDATED,
        "links": [{"rel": "self", "href": f"{base_url(request)}/v3/"}],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
        ],
    }


def versions(request: Request) -> JSONResponse:
    return JSONResponse({"versions": {"values": [_v3(request)]}}, status_code=300)


def version_v3(request: Request) -> dict[str, Any]:
    return {"version": _v3(request)}
