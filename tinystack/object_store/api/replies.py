"""Service-layer replies as HTTP responses; failures as Swift's error pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tinystack.common.exceptions import TinystackError
from tinystack.object_store.services.reads import Refused
from tinystack.object_store.services.records import Reply

TITLES = {400: "Bad Request", 404: "Not Found", 409: "Conflict", 412: "Precondition Failed",
          416: "Requested Range Not Satisfiable", 422: "Unprocessable Entity",
          503: "Service Unavailable", 507: "Insufficient Storage"}  # fmt: skip


class Failed(TinystackError):
    """A backend's failure status carried to the error renderer."""

    def __init__(self, status: int) -> None:
        self.status = status if status in TITLES or 400 <= status < 600 else 503
        self.title = TITLES.get(self.status, "Service Unavailable")
        super().__init__(self.title)


def respond(reply: Reply, status: int | None = None) -> Response:
    if reply.status >= 400:
        raise Failed(reply.status)
    code = status or reply.status
    if reply.stream is not None:
        return StreamingResponse(reply.stream, status_code=code, headers=reply.headers)
    headers = dict(reply.headers)
    if code == 204:
        headers.pop("Content-Length", None)
        headers.setdefault("Content-Type", "text/html; charset=UTF-8")
        return Response(status_code=204, headers=headers)
    if code == 304:
        return Response(status_code=304, headers=headers)
    # as stored: Starlette would add a charset to a text/* media type
    headers.setdefault("Content-Type", "text/html; charset=UTF-8")
    return Response(reply.body, status_code=code, headers=headers)


def refused(request: Request, exc: Exception) -> Response:
    """A feature's refusal (services.reads.Refused): its status, headers, plain body."""
    assert isinstance(exc, Refused)
    body = b"" if request.method == "HEAD" else exc.body
    return Response(body, status_code=exc.status, headers=exc.headers)
