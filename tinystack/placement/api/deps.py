"""The handlers' dependencies: ``PlacementReq`` (caller, version, body, renderers), ``DepsDep``.

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
from tinystack.common.timeutils import utcnow
from tinystack.placement.api.microversion import Version, version_of
from tinystack.placement.api.schemas import validate
from tinystack.placement.services.deps import Deps

M = TypeVar("M")
#: pass as ``last_modified`` for a response without last-modified/cache-control headers
NO_STAMP = object()


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
    moment = moment or utcnow()
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
        return validate(schema, data)

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
        root: str = self.request.scope.get("root_path", "")
        return root + path

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


#: where the app keeps its one Deps (set by ``service.py``)
STATE_KEY = "placement_deps"


def get_deps(request: Request) -> Deps:
    deps: Deps = getattr(request.app.state, STATE_KEY)
    return deps


async def _deps(request: Request) -> Deps:
    return get_deps(request)  # async: resolved on the event loop, no threadpool hop


DepsDep = Annotated[Deps, Depends(_deps)]


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
