"""What every Placement handler gets: the caller, the microversion, the body and the renderers.

Handlers declare one parameter ``req: PlacementReq`` and then, in order,
authorize (``req.can``), validate (``req.body(Model)`` / ``req.check_query``),
call the service layer and render (``req.respond`` / ``req.no_content``).
Building ``req`` already checked the versions the route declares
(``openapi_extra=since("1.x")``): outside them the handler does not exist.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.api.microversion import declared
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import (
    BadRequest,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    UnsupportedMediaType,
)
from tinystack.placement.api.deps import get_deps
from tinystack.placement.api.versions import Version, version_of
from tinystack.placement.services.deps import Deps

M = TypeVar("M")
_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}
#: pass as ``last_modified`` for a response without last-modified/cache-control headers
NO_STAMP = object()


def _adapter(schema: Any) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(schema)
    if adapter is None:
        adapter = _ADAPTERS[schema] = TypeAdapter(schema)
    return adapter


_JSON_TYPES = {
    "int": "integer",
    "float": "number",
    "string": "string",
    "list": "array",
    "dict": "object",
    "model": "object",
    "bool": "boolean",
}


def _jsonschema_message(err: Any) -> str:
    """One pydantic error, worded as the jsonschema error upstream Placement reports."""
    kind, value, ctx = err.get("type", ""), err.get("input"), err.get("ctx") or {}
    loc = err.get("loc", ())
    if kind == "missing":
        return f"'{loc[-1]}' is a required property\n\nFailed validating 'required' in schema"
    if kind == "extra_forbidden":
        return (
            f"Additional properties are not allowed ('{loc[-1]}' was unexpected)\n\n"
            "Failed validating 'additionalProperties' in schema"
        )
    if kind == "value_error" and "is not a 'uuid'" in str(err.get("msg")):
        return f"{value!r} is not a 'uuid'\n\nFailed validating 'format' in schema"
    if kind == "string_pattern_mismatch":
        if loc and loc[-1] == "[key]":
            return (
                f"'{value}' does not match any of the regexes\n\n"
                "Failed validating 'additionalProperties' in schema"
            )
        return f"{value!r} does not match {ctx.get('pattern')!r}\n\nFailed validating 'pattern'"
    if kind == "string_too_short":
        return f"{value!r} is too short\n\nFailed validating 'minLength' in schema"
    if kind == "string_too_long":
        return f"{value!r} is too long\n\nFailed validating 'maxLength' in schema"
    if kind == "too_short":
        if isinstance(value, dict):
            return f"{value} does not have enough properties\n\nFailed validating 'minProperties'"
        return f"{value} should be non-empty\n\nFailed validating 'minItems' in schema"
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return (
            f"{value} is less than the minimum of {bound}\n\n"
            f"Failed validating 'minimum' in {_schema_path(loc)}"
        )
    if kind in ("less_than_equal", "less_than"):
        bound = ctx.get("le", ctx.get("lt"))
        return (
            f"{value} is greater than the maximum of {bound}\n\n"
            "Failed validating 'maximum' in schema"
        )
    if kind.endswith("_type") or kind in ("model_attributes_type", "dict_type"):
        wanted = _JSON_TYPES.get(kind.split("_")[0], "object")
        return f"{value!r} is not of type '{wanted}'\n\nFailed validating 'type' in schema"
    where = ".".join(str(p) for p in loc)
    return f"{where}: {err.get('msg')}" if where else str(err.get("msg"))


def _schema_path(loc: tuple[Any, ...]) -> str:
    return "schema" + "".join(f"['properties']['{p}']" for p in loc if isinstance(p, str))


def _describe(exc: ValidationError) -> str:
    return _jsonschema_message(exc.errors()[0])


def _accepts_json(accept: str) -> bool:
    for item in accept.split(","):
        media, *params = [p.strip() for p in item.split(";")]
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if quality > 0 and media.lower() in ("application/json", "application/*", "*/*"):
            return True
    return False


def http_date(moment: datetime | None) -> str:
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment.astimezone(UTC), usegmt=True)


class PlacementRequest:
    def __init__(self, request: Request, ctx: RequestContext, raw_body: bytes) -> None:
        self.request = request
        self.ctx = ctx
        self.version: Version = version_of(request)
        self.raw_body = raw_body
        self.deps: Deps = get_deps(request)

    # -- authorize and version gates -------------------------------------------------
    def can(self, rule: str, target: dict[str, Any] | None = None) -> None:
        self.ctx.can(rule, target or {"project_id": self.ctx.project_id})

    def require_declared(self) -> None:
        """Outside the versions its route declares (``since``) a handler does not exist."""
        bounds = declared(self.request.scope.get("route"))
        if bounds is None or self.version in bounds:
            return
        if bounds.absent == 405:
            raise MethodNotAllowed("The method specified is not allowed for this resource.")
        raise NotFound("The resource could not be found.")

    def at_least(self, version: str) -> bool:
        return self.version.matches(version)

    # -- input ----------------------------------------------------------------------
    def require_json(self) -> None:
        """415 unless the body is declared JSON (checked before anything else, as upstream)."""
        content_type = self.request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise UnsupportedMediaType(
                f"The media type {content_type or 'None'} is not supported, use application/json"
            )

    def json(self) -> Any:
        self.require_json()
        try:
            return json.loads(self.raw_body)
        except ValueError as exc:
            raise BadRequest(f"Malformed JSON: {exc}") from None

    def body(self, schema: type[M]) -> M:
        """The JSON body validated by a pydantic model (or any type pydantic can validate)."""
        return self.validate(schema, self.json())

    @staticmethod
    def validate(schema: type[M], data: Any) -> M:
        try:
            if isinstance(schema, type) and issubclass(schema, BaseModel):
                return schema.model_validate(data)
            result: M = _adapter(schema).validate_python(data, strict=True)
            return result
        except ValidationError as exc:
            raise BadRequest(f"JSON does not validate: {_describe(exc)}") from None

    @property
    def query(self) -> Any:
        return self.request.query_params

    def check_query(
        self,
        allowed: Iterable[str],
        pattern: re.Pattern[str] | None = None,
        regexes: Iterable[str] = (),
    ) -> None:
        """400 for query parameters this version of the handler does not know.

        ``pattern`` matches further allowed keys; ``regexes`` name them in the error.
        """
        known = set(allowed)
        for key in self.request.query_params:
            if key in known or (pattern and pattern.match(key)):
                continue
            if pattern:
                names = ", ".join(f"'{r}'" for r in regexes) or f"'{pattern.pattern}'"
                raise BadRequest(
                    f"Invalid query string parameters: '{key}' does not match any of the "
                    f"regexes: {names}"
                )
            raise BadRequest(
                "Invalid query string parameters: Additional properties are not allowed "
                f"('{key}' was unexpected)"
            )

    def one(self, key: str) -> str | None:
        """The last value of a query parameter (as webob's ``GET[key]`` does)."""
        values = self.request.query_params.getlist(key)
        return values[-1] if values else None

    # -- output ---------------------------------------------------------------------
    def url(self, path: str) -> str:
        """A link as upstream renders them in bodies: relative to the host."""
        return self.request.scope.get("root_path", "") + path

    def absolute(self, path: str) -> str:
        """A ``Location``: absolute, as webob makes it upstream."""
        return str(self.request.base_url).rstrip("/") + path

    def _stamp(self, response: Response, last_modified: object) -> None:
        """From 1.15: ``last-modified`` (the given time, or now) and ``cache-control``."""
        if last_modified is NO_STAMP or not self.version.matches("1.15"):
            return
        moment = last_modified if isinstance(last_modified, datetime) else None
        response.headers["last-modified"] = http_date(moment)
        response.headers["cache-control"] = "no-cache"

    def respond(
        self,
        data: Any,
        status: int = 200,
        *,
        last_modified: datetime | object | None = None,
        location: str | None = None,
    ) -> Response:
        """A JSON response; from 1.15 with ``last-modified`` (None: now) and no-cache."""
        body = json.dumps(data, separators=(",", ":")).encode()
        response = Response(body, status_code=status, media_type="application/json")
        if location:
            response.headers["location"] = self.absolute(location)
        self._stamp(response, last_modified)
        return response

    def no_content(
        self,
        status: int = 204,
        *,
        location: str | None = None,
        last_modified: datetime | object | None = NO_STAMP,
    ) -> Response:
        response = Response(status_code=status)
        if location:
            response.headers["location"] = self.absolute(location)
        self._stamp(response, last_modified)
        return response


async def _placement_request(request: Request, ctx: ContextDep) -> PlacementRequest:
    raw = await request.body() if request.method in ("POST", "PUT", "PATCH") else b""
    if raw and not request.headers.get("content-type"):
        raise BadRequest("content-type header required when content-length > 0")
    if request.method == "GET":
        accept = request.headers.get("accept")
        if accept and not _accepts_json(accept):
            raise NotAcceptable("Only application/json is provided")
    req = PlacementRequest(request, ctx, raw)
    req.require_declared()
    return req


PlacementReq = Annotated[PlacementRequest, Depends(_placement_request)]
