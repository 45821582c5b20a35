"""Swift's transaction ids: every response carries ``X-Trans-Id`` and the same value as
``X-Openstack-Request-Id``, ``tx<21 hex>-<10 hex of the time>`` (what clients print and
test suites check)."""

from __future__ import annotations

import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def new_trans_id() -> str:
    return f"tx{uuid.uuid4().hex[:21]}-{int(time.time()):010x}"


class TransIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        trans_id = new_trans_id()
        scope.setdefault("state", {})["request_id"] = trans_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"x-trans-id", trans_id.encode())]  # fmt: skip
            await send(message)

        await self.app(scope, receive, send_with_id)
