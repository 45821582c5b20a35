"""The request body limit every API has (oslo.middleware's ``sizelimit``).

A body longer than ``[DEFAULT] max_request_body_size`` (114688 bytes, upstream's
default; the runner puts it on ``app.state.max_request_body_size``) is refused with a
413 in the service's error shape before a handler runs: a declared ``Content-Length``
is refused unread, a chunked body is read up to the limit and refused on the byte that
passes it (smaller chunked bodies are replayed to the app). Requests whose bodies stream
to storage (image data, object uploads) are named by the service's ``streams``
predicate and pass unlimited, as upstream's do.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: upstream's ``[oslo_middleware] max_request_body_size`` default
DEFAULT_LIMIT = 114688
MESSAGE = "Request is too large."

#: (method, path) -> whether the request's body streams to storage (no limit)
Streams = Callable[[str, str], bool]
#: renders the 413 in the service's style
Refuse = Callable[[Request, int, str], Response]


def _declared_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    """Refuse request bodies over the configured size (see the module docstring)."""

    def __init__(self, app: ASGIApp, refuse: Refuse, streams: Streams | None = None) -> None:
        self.app = app
        self.refuse = refuse
        self.streams = streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        if self.streams is not None and self.streams(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        owner = scope.get("app")
        limit = int(getattr(getattr(owner, "state", None), "max_request_body_size", DEFAULT_LIMIT))
        if limit <= 0:
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None:
            if declared > limit:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # chunked: read it (JSON bodies are small by definition), then replay
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away; let the app see it
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.refuse(Request(scope, receive), 413, MESSAGE)
        await response(scope, receive, send)
