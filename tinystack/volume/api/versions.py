"""Version discovery (no token needed): ``GET /`` (300) and ``GET /v3/``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import PUBLIC
from tinystack.volume.api.microversion import MAX_VERSION, MIN_VERSION
from tinystack.volume.api.rendering import base_url, json_response

router = APIRouter(tags=["versions"])
#: upstream's date of the newest microversion
UPDATED = "2023-08-31T00:00:00Z"


def _v3(request: Request) -> dict[str, Any]:
    return {
        "id": "v3.0",
        "status": "CURRENT",
        "version": str(MAX_VERSION),
        "min_version": str(MIN_VERSION),
        "updated": UPDATED,
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
            {"rel": "self", "href": f"{base_url(request)}/v3/"},
        ],
        "media-types": [
            {
                "base": "application/json",
                "type": "application/vnd.openstack.volume+json;version=3",
            }
        ],
    }


@router.get("/", openapi_extra=PUBLIC, status_code=300)
def list_versions(request: Request) -> Response:
    return json_response({"versions": [_v3(request)]}, status=300)


@router.get("/v3", openapi_extra=PUBLIC)
@router.get("/v3/", openapi_extra=PUBLIC, include_in_schema=False)
def show_version(request: Request) -> Response:
    return json_response({"versions": [_v3(request)]})
