"""The app factory every service uses.

Middleware, innermost first:
1. FastAPI's router and dependencies (auth happens in the ``ContextDep``
   dependency, so public routes such as version discovery cost nothing);
2. the exception handlers, which render every error in the service's style (another
   service, the database or the message bus out of reach: 503 with Retry-After, never
   a 500);
3. :class:`~tinystack.common.api.body_limit.BodyLimitMiddleware`, the 413 for bodies
   over ``[DEFAULT] max_request_body_size`` (except what ``streams`` names);
4. :class:`~tinystack.common.api.observability.ObservabilityMiddleware`: the access log
   line and the request's latency (a 413 too); ``GET /metrics``;
5. :class:`RequestIdMiddleware`, outermost, so even a 500 carries
   ``x-openstack-request-id``.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tinystack.common.api.body_limit import BodyLimitMiddleware, Streams
from tinystack.common.api.errors import STATUS_TITLES, STYLES, ErrorRenderer
from tinystack.common.api.observability import ObservabilityMiddleware
from tinystack.common.clients.session import ClientError
from tinystack.common.exceptions import TinystackError
from tinystack.common.rpc.exceptions import MessagingTimeout, RPCError, TransportError

LOG = logging.getLogger(__name__)
REQUEST_ID_HEADER = b"x-openstack-request-id"
#: seconds a client is told to wait when a service this one needs (another service, the
#: database) cannot be reached: the request failed cleanly and may be retried as it is
RETRY_AFTER = "3"


class RequestIdMiddleware:
    """Give every request an id (``req-<uuid>``) and echo it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        # an outer middleware may name the request in its API's own form (Swift's tx ids)
        request_id = state.get("request_id") or "req-" + str(uuid.uuid4())
        state["request_id"] = request_id
        header = (REQUEST_ID_HEADER, request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)


def request_id(request: Request) -> str:
    return str(getattr(request.state, "request_id", "")) or "req-" + str(uuid.uuid4())


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for err in errors[:3]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        msg = err.get("msg", "invalid")
        if err.get("type") == "json_invalid":
            return "Malformed request body: the body is not valid JSON."
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "Invalid input for field/attribute " + "; ".join(parts)


def create_app(
    *,
    title: str,
    version: str,
    style: str,
    state: dict[str, Any] | None = None,
    streams: Streams | None = None,
    own_metrics: bool = False,
) -> FastAPI:
    """A FastAPI app with OpenStack errors, request ids, the body size limit (``streams``
    names the requests whose bodies stream to storage, exempt from it), an access log and
    ``/metrics`` (``own_metrics``: the app routes ``/metrics`` itself); routers are added
    by the caller."""
    render: ErrorRenderer = STYLES[style]
    app = FastAPI(
        title=title,
        version=version,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        redirect_slashes=False,
    )
    for key, value in (state or {}).items():
        setattr(app.state, key, value)

    def respond(request: Request, status: int, message: str, code: str | None = None) -> Response:
        title_ = STATUS_TITLES.get(status, "Error")
        response = render(status, title_, message, code, request_id(request))
        return response

    @app.exception_handler(TinystackError)
    def _domain_error(request: Request, exc: TinystackError) -> Response:
        if exc.status >= 500:
            LOG.error("error serving %s %s: %s", request.method, request.url.path, exc)
        response = respond(request, exc.status, exc.message, exc.code)
        for key, value in getattr(exc, "headers", {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    def _request_invalid(request: Request, exc: RequestValidationError) -> Response:
        return respond(request, 400, _validation_message(list(exc.errors())))

    @app.exception_handler(PydanticValidationError)
    def _model_invalid(request: Request, exc: PydanticValidationError) -> Response:
        return respond(request, 400, _validation_message(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else STATUS_TITLES.get(exc.status_code)
        if exc.status_code == 404 and message == "Not Found":
            message = "The resource could not be found."
        response = respond(request, exc.status_code, str(message))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> Response:
        LOG.error("unexpected error serving %s %s", request.method, request.url.path, exc_info=exc)
        return respond(
            request, 500, "An unexpected error prevented the server from fulfilling your request."
        )

    def unavailable(request: Request, what: str, exc: Exception) -> Response:
        LOG.warning("cannot serve %s %s: %s unavailable: %s", request.method,
                    request.url.path, what, exc)  # fmt: skip
        response = respond(request, 503, f"The {what} is unavailable; retry later.")
        response.headers["Retry-After"] = RETRY_AFTER
        return response

    @app.exception_handler(ClientError)
    def _dependency_error(request: Request, exc: ClientError) -> Response:
        if exc.status == 0 or exc.status >= 500:  # unreachable, or failing itself
            return unavailable(request, f"{exc.service} service", exc)
        return _unexpected(request, exc)

    @app.exception_handler(TransportError)
    @app.exception_handler(MessagingTimeout)
    def _bus_error(request: Request, exc: RPCError) -> Response:
        return unavailable(request, "message bus", exc)

    @app.exception_handler(DBAPIError)
    def _database_error(request: Request, exc: DBAPIError) -> Response:
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            return unavailable(request, "database", exc)
        return _unexpected(request, exc)

    app.add_middleware(BodyLimitMiddleware, refuse=respond, streams=streams)
    app.add_middleware(ObservabilityMiddleware, service=style, own_metrics=own_metrics)
    app.add_middleware(RequestIdMiddleware)
    return app
