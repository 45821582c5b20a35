"""Version discovery: ``GET /`` (300 Multiple Choices, as upstream) and ``GET /versions``.

Handlers only; routes are in :mod:`tinystack.image.api.router`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

CURRENT = "2.17"
#: every Image v2 minor version this implementation answers to
SUPPORTED = (
    "2.16",
    "2.15",
    "2.14",
    "2.13",
    "2.12",
    "2.11",
    "2.10",
    "2.9",
    "2.8",
    "2.7",
    "2.6",
    "2.5",
    "2.4",
    "2.3",
    "2.2",
    "2.1",
    "2.0",
)


def versions_body(request: Request) -> dict[str, object]:
    href = f"{request.url.scheme}://{request.url.netloc}/v2/"

    def version(number: str, status: str) -> dict[str, object]:
        return {"id": f"v{number}", "status": status, "links": [{"rel": "self", "href": href}]}

    return {
        "versions": [version(CURRENT, "CURRENT")] + [version(v, "SUPPORTED") for v in SUPPORTED]
    }


def root(request: Request) -> Response:
    return JSONResponse(versions_body(request), status_code=300)


def versions(request: Request) -> Response:
    return JSONResponse(versions_body(request))


def v2_root(request: Request) -> Response:
    return JSONResponse(versions_body(request), status_code=300)
