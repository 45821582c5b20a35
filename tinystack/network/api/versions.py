"""Version discovery: ``/`` (public) and ``/v2.0`` (the resource collections)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep

COLLECTIONS = [
    ("network", "networks"),
    ("subnet", "subnets"),
    ("subnetpool", "subnetpools"),
    ("port", "ports"),
]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def list_versions(request: Request) -> Response:
    href = f"{_base(request)}/v2.0/"
    version = {"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}
    return JSONResponse({"versions": [version]})


def show_version(request: Request, ctx: ContextDep) -> Response:
    base = _base(request)
    resources = [
        {
            "name": name,
            "collection": collection,
            "links": [{"rel": "self", "href": f"{base}/v2.0/{collection}"}],
        }
        for name, collection in COLLECTIONS
    ]
    return JSONResponse({"resources": resources})
