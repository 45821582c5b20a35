"""OpenStack error bodies, one style per API family.

Every service's API answers errors in the shape its upstream clients parse:
identity ``{"error": {...}}``, compute ``{"itemNotFound": {...}}``, network
``{"NeutronError": {...}}``, load balancer ``{"faultstring": ...}``, placement
``{"errors": [...]}``, and so on. The
app factory renders every error, including framework ones (404 for unknown
routes, 405, body validation), through the service's style.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

ErrorRenderer = Callable[[int, str, str, str | None, str], Response]

STATUS_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    411: "Length Required",
    410: "Gone",
    412: "Precondition Failed",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    416: "Requested Range Not Satisfiable",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    507: "Insufficient Storage",
}

_COMPUTE_KEYS = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    406: "notAcceptable",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}


def _headers(status: int) -> dict[str, str] | None:
    if status == 401:
        return {"WWW-Authenticate": 'Keystone uri="/"'}
    return None


def identity(status: int, title: str, message: str, code: str | None, request_id: str) -> Response:
    body = {"error": {"code": status, "message": message, "title": title}}
    return JSONResponse(body, status_code=status, headers=_headers(status))


def compute(status: int, title: str, message: str, code: str | None, request_id: str) -> Response:
    key = _COMPUTE_KEYS.get(status, "computeFault")
    return JSONResponse({key: {"code": status, "message": message}}, status_code=status)


#: cinder's fault names (no 406 or 429 among them: those are computeFault)
_VOLUME_KEYS = {k: v for k, v in _COMPUTE_KEYS.items() if k not in (406, 429)}


def volume(status: int, title: str, message: str, code: str | None, request_id: str) -> Response:
    key = _VOLUME_KEYS.get(status, "computeFault")
    fault: dict[str, Any] = {"code": status, "message": message}
    if status == 413:
        # cinder's quota errors carry Retry-After: 0 and repeat it in the body
        fault["retryAfter"] = "0"
    return JSONResponse({key: fault}, status_code=status)


def network(status: int, title: str, message: str, code: str | None, request_id: str) -> Response:
    kind = code or title.replace(" ", "")
    body = {"NeutronError": {"type": kind, "message": message, "detail": ""}}
    return JSONResponse(body, status_code=status)


def placement(status: int, title: str, message: str, code: str | None, request_id: str) -> Response:
    error: dict[str, Any] = {
        "status": status,
        "title": title,
        "detail": message,
        "code": code or "placement.undefined_code",
        "request_id": request_id,
    }
    return JSONResponse({"errors": [error]}, status_code=status)


def image(status: int, title: str, message: str, code: str | None, request_id: str) -> Response:
    # Glance answers with webob's plain error pages.
    text = f"{status} {title}\n\n{message}\n\n   "
    return PlainTextResponse(text, status_code=status, headers=_headers(status))


#: the explanations Swift's error pages give (swob's defaults)
_SWIFT_TEXT = {
    400: "The server could not comply with the request since it is either malformed or "
    "otherwise incorrect.",
    401: "This server could not verify that you are authorized to access the document you "
    "requested.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method is not allowed for this resource.",
    409: "There was a conflict when trying to complete your request.",
    411: "Content-Length header required.",
    412: "A precondition for this request was not satisfied.",
    413: "The body of your request was too large for this server.",
    416: "The Range requested is not available.",
    422: "Unable to process the contained instructions",
    503: "The server is currently unavailable. Please try again at a later time.",
}


def object_store(
    status: int, title: str, message: str, code: str | None, request_id: str
) -> Response:
    # Swift answers with small HTML pages: <h1>title</h1><p>explanation</p>.
    default = _SWIFT_TEXT.get(status, title)
    text = default if message in (title, "", STATUS_TITLES.get(status)) else message
    if status == 401:
        text = _SWIFT_TEXT[401]
    if status == 403 and message.startswith("You are not authorized"):
        text = _SWIFT_TEXT[403]
    body = f"<html><h1>{STATUS_TITLES.get(status, title)}</h1><p>{text}</p></html>"
    headers = {"WWW-Authenticate": 'Keystone uri="/"'} if status == 401 else None
    return HTMLResponse(body, status_code=status, headers=headers)


def metric(status: int, title: str, message: str, code: str | None, request_id: str) -> Response:
    # Gnocchi's (pecan's) error body
    return JSONResponse({"code": status, "description": message, "title": title},
                        status_code=status, headers=_headers(status))  # fmt: skip


def load_balancer(
    status: int, title: str, message: str, code: str | None, request_id: str
) -> Response:
    # Octavia answers with wsme's fault bodies.
    fault = "Server" if status >= 500 else "Client"
    body = {"faultcode": fault, "faultstring": message, "debuginfo": None}
    return JSONResponse(body, status_code=status, headers=_headers(status))


def alarm(status: int, title: str, message: str, code: str | None, request_id: str) -> Response:
    """Aodh's: wsme's fault inside ``error_message`` (what aodhclient reads)."""
    fault = "Server" if status >= 500 else "Client"
    body = {"error_message": {"faultcode": fault, "faultstring": message, "debuginfo": None}}
    return JSONResponse(body, status_code=status, headers=_headers(status))


def dashboard(status: int, title: str, message: str, code: str | None, request_id: str) -> Response:
    """The Skyline API server's errors (FastAPI's): ``{"detail": message}``."""
    return JSONResponse({"detail": message}, status_code=status)


STYLES: dict[str, ErrorRenderer] = {
    "metric": metric,
    "alarm": alarm,
    "load_balancer": load_balancer,
    "dashboard": dashboard,
    "object_store": object_store,
    "identity": identity,
    "compute": compute,
    "volume": volume,
    "network": network,
    "placement": placement,
    "image": image,
}
