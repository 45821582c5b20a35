"""The version documents (no token needed)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

STATUS = [("v2.0", "SUPPORTED"), ("v2.1", "SUPPORTED"), ("v2.2", "SUPPORTED"), ("v2.27", "CURRENT")]


def root(request: Request) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/")
    versions = [
        {
            "id": vid,
            "status": status,
            "updated": "2023-06-01T00:00:00Z",
            "links": [{"href": f"{base}/v2", "rel": "self"}],
        }
        for vid, status in STATUS
    ]
    return {"versions": versions}
