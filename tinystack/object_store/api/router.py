"""THE route table of the Swift v1 API: every route on one line (method, path, handler,
policy rules, request body)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from starlette.types import ASGIApp, Receive, Scope, Send

from tinystack.common.api.openapi import PUBLIC, policies
from tinystack.object_store.api import accounts, bulk, containers, info, objects
from tinystack.object_store.policies.base import OWNER

router = APIRouter()
OBJECT_BODY = {
    "requestBody": {
        "required": False,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
#: bulk-delete's list of names, extract-archive's tar
BULK_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "application/x-tar": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
A = "/v1/{account}"
C = "/v1/{account}/{container}"
O = "/v1/{account}/{container}/{obj:path}"  # noqa: E741

ROUTES: list[tuple[str, str, Callable[..., Any], dict[str, Any]]] = [
    ("GET", "/info", info.get_info, PUBLIC),
    ("GET", "/healthcheck", info.healthcheck, PUBLIC),
    ("HEAD", A, accounts.head_account, policies(OWNER)),
    ("GET", A, accounts.get_account, policies(OWNER)),
    ("POST", A, bulk.post_account, {**policies(OWNER), **BULK_BODY}),
    ("PUT", A, bulk.put_account, {**policies(OWNER), **BULK_BODY}),
    ("DELETE", A, bulk.delete_account, {**policies(OWNER), **BULK_BODY}),
    ("PUT", C, bulk.put_container, {**policies(OWNER), **BULK_BODY}),
    ("HEAD", C, containers.head_container, policies(OWNER)),
    ("GET", C, containers.get_container, policies(OWNER)),
    ("POST", C, containers.post_container, policies(OWNER)),
    ("DELETE", C, containers.delete_container, policies(OWNER)),
    ("PUT", O, objects.put_object, {**policies(OWNER), **OBJECT_BODY}),
    ("HEAD", O, objects.head_object, policies(OWNER)),
    ("GET", O, objects.get_object, policies(OWNER)),
    ("POST", O, objects.post_object, policies(OWNER)),
    ("DELETE", O, objects.delete_object, policies(OWNER)),
    ("COPY", O, objects.copy_object, policies(OWNER)),
]

for method, path, handler, extra in ROUTES:
    router.add_api_route(path, handler, methods=[method], openapi_extra=extra)


class TrailingSlash:
    """Swift's ``/v1/<account>/`` and ``/v1/<account>/<container>/`` are the account and
    the container (clients and Tempest send them); without this, the object routes'
    ``{obj:path}`` would take an empty name. Innermost: staticweb still sees the slash."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/v1/") and path.endswith("/"):
            if path.count("/") <= 4 and "//" not in path:
                raw = scope.get("raw_path") or path.encode()
                scope = {**scope, "path": path[:-1], "raw_path": raw[:-1]}
        await self.app(scope, receive, send)
