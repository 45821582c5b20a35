"""Version discovery (no token needed): ``GET /`` and ``GET /v2.1``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.compute.api.microversion import MAX_VERSION, MIN_VERSION
from tinystack.compute.api.rendering import base_url, json_response

router = APIRouter(tags=["versions"])
PUBLIC = {"x-public": True}


def _v21(request: Request) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": str(MAX_VERSION),
        "min_version": str(MIN_VERSION),
        "updated": "2013-07-23T11:33:21Z",
        "links": [
            {"rel": "self", "href": f"{base_url(request)}/v2.1/"},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
        ],
        "media-types": [
            {
                "base": "application/json",
                "type": "application/vnd.openstack.compute+json;version=2.1",
            }
        ],
    }


def _v20(request: Request) -> dict[str, Any]:
    """The legacy v2.0-compatible API (``/v2``: 2.1 without microversions)."""
    return {
        "id": "v2.0",
        "status": "DEPRECATED",
        "version": "",
        "min_version": "",
        "updated": "2025-07-04T12:00:00Z",
        "links": [
            {"rel": "self", "href": f"{base_url(request)}/v2/"},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
        ],
        "media-types": [
            {"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2"}
        ],
    }


@router.get("/", openapi_extra=PUBLIC)
def list_versions(request: Request) -> Response:
    found = []
    for version in (_v20(request), _v21(request)):
        version["links"] = version["links"][:1]
        del version["media-types"]
        found.append(version)
    return json_response({"versions": found})


@router.get("/v2", openapi_extra=PUBLIC)
@router.get("/v2/", openapi_extra=PUBLIC, include_in_schema=False)
def show_legacy_version(request: Request) -> Response:
    return json_response({"version": _v20(request)})


@router.get("/v2.1", openapi_extra=PUBLIC)
@router.get("/v2.1/", openapi_extra=PUBLIC, include_in_schema=False)
def show_version(request: Request) -> Response:
    return json_response({"version": _v21(request)})
