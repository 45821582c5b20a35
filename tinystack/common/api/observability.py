"""What every API tells its operator: one access-log line per request (service, method,
path, status, duration, request id, project; logger ``tinystack.access``) and the
latency of each request in :mod:`tinystack.common.metrics`, whose page it serves at
``GET /metrics`` (the metric service routes ``/metrics`` itself and adds its meters)."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tinystack.common import metrics

ACCESS_LOG = logging.getLogger("tinystack.access")


class ObservabilityMiddleware:
    """Times and logs every request; answers ``GET /metrics`` unless the app routes it
    itself (then the app's page carries :func:`metrics.exposition`). Inside the request-id
    middleware, so the line names the request."""

    def __init__(self, app: ASGIApp, service: str, own_metrics: bool = False) -> None:
        self.app = app
        self.service = service
        self.own_metrics = own_metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/metrics" and scope["method"] == "GET" and not self.own_metrics:
            await _send_metrics(send)
            return
        started = time.perf_counter()
        status = 500

        async def tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = str(scope["method"])
            metrics.HTTP.observe((self.service, method, route, str(status)), seconds)
            state = scope.get("state", {})
            ACCESS_LOG.info(
                "%s %s %s %d %.1fms %s project=%s", self.service, method, scope["path"],
                status, seconds * 1000, state.get("request_id", "-"),
                state.get("project_id") or "-",
            )  # fmt: skip


async def _send_metrics(send: Send) -> None:
    body = metrics.exposition().encode()
    headers = [(b"content-type", metrics.CONTENT_TYPE.encode()),
               (b"content-length", str(len(body)).encode())]  # fmt: skip
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
