"""Version discovery at ``/`` (no authentication, as upstream)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.timeutils import utcnow
from tinystack.placement.api.deps import http_date
from tinystack.placement.api.microversion import MAX_VERSION, MIN_VERSION, version_of


def home(request: Request) -> Response:
    data = {
        "versions": [
            {
                "id": f"v{MIN_VERSION}",
                "max_version": str(MAX_VERSION),
                "min_version": str(MIN_VERSION),
                "status": "CURRENT",
                "links": [{"rel": "self", "href": ""}],
            }
        ]
    }
    response = Response(json.dumps(data).encode(), media_type="application/json")
    if version_of(request).matches("1.15"):
        response.headers["cache-control"] = "no-cache"
        response.headers["last-modified"] = http_date(utcnow())
    return response
