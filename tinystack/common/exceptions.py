"""Domain exceptions shared by every service.

Services raise these (or subclasses in their own ``exception.py``); the API
layer maps them to the service's OpenStack error body. They carry an HTTP-ish
``status`` because every OpenStack API documents its errors that way, but they
import nothing from the web stack.
"""

from __future__ import annotations


class TinystackError(Exception):
    status: int = 500
    title: str = "Internal Server Error"
    #: stable machine-readable code, used by services whose errors have one
    code: str | None = None

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or self.title
        if code is not None:
            self.code = code
        super().__init__(self.message)


class BadRequest(TinystackError):
    status = 400
    title = "Bad Request"


class ValidationError(BadRequest):
    pass


class Unauthorized(TinystackError):
    status = 401
    title = "Unauthorized"


class Forbidden(TinystackError):
    status = 403
    title = "Forbidden"


class PolicyNotAuthorized(Forbidden):
    pass


class NotFound(TinystackError):
    status = 404
    title = "Not Found"


class MethodNotAllowed(TinystackError):
    status = 405
    title = "Method Not Allowed"


class NotAcceptable(TinystackError):
    status = 406
    title = "Not Acceptable"


class Conflict(TinystackError):
    status = 409
    title = "Conflict"


class Gone(TinystackError):
    status = 410
    title = "Gone"


class PreconditionFailed(TinystackError):
    status = 412
    title = "Precondition Failed"


class RequestEntityTooLarge(TinystackError):
    status = 413
    title = "Request Entity Too Large"


class UnsupportedMediaType(TinystackError):
    status = 415
    title = "Unsupported Media Type"


class RangeNotSatisfiable(TinystackError):
    status = 416
    title = "Requested Range Not Satisfiable"


class NotImplementedYet(TinystackError):
    status = 501
    title = "Not Implemented"


class ServiceUnavailable(TinystackError):
    status = 503
    title = "Service Unavailable"
