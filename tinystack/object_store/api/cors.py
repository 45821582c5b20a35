"""CORS as Swift's proxy does it, from a container's ``X-Container-Meta-Access-Control-
Allow-Origin`` (space-separated origins, or ``*``), ``-Max-Age`` and ``-Expose-Headers``:
``OPTIONS`` preflights (200 with the allowed methods and headers, 401 for an origin or
method not allowed; without an ``Origin`` a plain 200 with ``Allow``), and an allowed
origin's actual requests answered with ``Access-Control-Allow-Origin`` and
``-Expose-Headers`` (``strict_cors_mode``: nothing for other origins)."""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tinystack.object_store.services import containers
from tinystack.object_store.services.deps import Deps

OBJECT_METHODS = ("COPY", "DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT")
CONTAINER_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT")
EXPOSED = ("cache-control", "content-language", "content-type", "expires", "last-modified",
           "pragma", "etag", "x-timestamp", "x-trans-id", "x-openstack-request-id")  # fmt: skip
META = "x-container-meta-access-control-"


def cors_info(deps: Deps, account: str, container: str) -> dict[str, str]:
    """The container's allow-origin, max-age and expose-headers (empty when unknown)."""
    reply = containers.cached_head(deps, account, container)
    if reply.status >= 300:
        return {}
    return {k.lower()[len(META) :]: v for k, v in reply.headers.items()
            if k.lower().startswith(META)}  # fmt: skip


def origin_allowed(info: dict[str, str], origin: str) -> bool:
    allowed = set(info.get("allow-origin", "").split())
    return origin in allowed or "*" in allowed


def _header(scope: Scope, name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k.lower() == name), None)


def _allow_origin(info: dict[str, str], origin: str) -> list[tuple[bytes, bytes]]:
    if info.get("allow-origin", "").strip() == "*":
        return [(b"access-control-allow-origin", b"*")]
    return [(b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin")]


class CORSMiddleware:
    def __init__(self, app: ASGIApp, state_key: str) -> None:
        self.app = app
        self.state_key = state_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        account, container, obj = (scope["path"].split("/", 4) + [""] * 5)[2:5]
        origin = _header(scope, b"origin")
        deps: Deps = getattr(scope["app"].state, self.state_key)
        if scope["method"] == "OPTIONS":
            methods = OBJECT_METHODS if obj else CONTAINER_METHODS
            headers = [(b"allow", ", ".join(methods).encode())]
            status = 200
            if origin and container:
                info = await anyio.to_thread.run_sync(cors_info, deps, account, container)
                status, headers = _preflight(scope, info, origin, methods, headers)
            headers += [(b"content-length", b"0"), (b"content-type", b"text/html; charset=UTF-8")]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        if not origin or not container:
            await self.app(scope, receive, send)
            return
        info = await anyio.to_thread.run_sync(cors_info, deps, account, container)
        if not origin_allowed(info, origin):
            await self.app(scope, receive, send)
            return

        async def send_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": _actual(message, info, origin)}
            await send(message)

        await self.app(scope, receive, send_cors)


def _preflight(
    scope: Scope, info: dict[str, str], origin: str, methods: tuple[str, ...],
    headers: list[tuple[bytes, bytes]],
) -> tuple[int, list[tuple[bytes, bytes]]]:  # fmt: skip
    wanted = _header(scope, b"access-control-request-method")
    if not origin_allowed(info, origin) or wanted not in methods:
        return 401, headers
    found = [*headers, *_allow_origin(info, origin)]
    if info.get("max-age") is not None:
        found.append((b"access-control-max-age", info["max-age"].encode()))
    found.append((b"access-control-allow-methods", ", ".join(methods).encode()))
    asked = _header(scope, b"access-control-request-headers") or ""
    allow = {h.strip() for h in asked.split(",") if h.strip()}
    if allow:
        found.append((b"access-control-allow-headers", ", ".join(sorted(allow)).encode()))
        found.append((b"vary", b"Access-Control-Request-Headers"))
    return 200, found


def _actual(message: Message, info: dict[str, str], origin: str) -> list[tuple[bytes, bytes]]:
    headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
    names = {k.lower() for k, _ in headers}
    if b"access-control-expose-headers" not in names:
        exposed = set(EXPOSED)
        exposed |= {k.decode("latin-1").lower() for k in names
                    if k.startswith((b"x-container-meta", b"x-object-meta"))}  # fmt: skip
        exposed |= {h.lower() for h in info.get("expose-headers", "").split() if h}
        headers.append((b"access-control-expose-headers", ", ".join(sorted(exposed)).encode()))
    if b"access-control-allow-origin" not in names:
        headers += _allow_origin(info, origin)
    return headers
