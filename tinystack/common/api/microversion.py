"""Microversions, once for every service: the version type, negotiation, the middleware.

A service describes its versions with one :class:`Microversions` (service type, the
table of versions oldest first, how its header is read, how its 400/406 bodies look)
and mounts :class:`MicroversionMiddleware` with it. A request names its version with
``OpenStack-API-Version: <service_type> X.Y`` (or ``latest``; compute also accepts the
legacy ``X-OpenStack-Nova-API-Version: X.Y``); no header means the minimum. A
malformed version is a 400, a well-formed one the table does not list a 406. Every
negotiated response says which version it used and ``Vary``s on the header(s).

Handlers read the version with the service's dependency (``Microversions.current``);
a route declares the versions it exists at with ``openapi_extra=since("1.10")``, which
:func:`declared` reads back (for the handler's gate and the route meta-test) and
``/openapi.json`` shows as ``x-openstack-microversion``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_PLAIN = re.compile(r"^\d+\.\d+$")


class Version(NamedTuple):
    """``X.Y``; compares with other versions and with ``(major, minor)`` tuples."""

    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    @classmethod
    def parse(cls, text: str) -> Version:
        """``"1.10"`` → ``Version(1, 10)``; ValueError for anything else."""
        return _parse(text)

    def matches(self, minimum: str, maximum: str | None = None) -> bool:
        """Whether this version is within [minimum, maximum] (no maximum: the latest)."""
        if self < _parse(minimum):
            return False
        return maximum is None or self <= _parse(maximum)


@lru_cache(maxsize=512)
def _parse(text: str) -> Version:
    if not _PLAIN.match(text):
        raise ValueError(f"invalid version string: {text}")
    major, minor = text.split(".")
    return Version(int(major), int(minor))


class VersionError(Exception):
    """The requested version is malformed (400) or not served (406)."""

    def __init__(self, status: int, requested: str, version: Version | None = None) -> None:
        super().__init__(f"{status}: {requested}")
        self.status = status
        #: the version text as the client sent it
        self.requested = requested
        #: the parsed version (406 only)
        self.version = version


@dataclass(frozen=True, slots=True)
class HeaderGrammar:
    """How a service reads its version out of the request (the dialects differ in details).

    ``last_line_only``: of several header lines only the last counts (else all are folded);
    ``first_item_wins``: of several ``<service> X.Y`` items the first counts (else the last);
    ``exact_items``: an item must be exactly two words (else ``<service> <rest>``);
    ``latest_any_case``: ``LATEST`` is ``latest``; ``syntax``: a well-formed ``X.Y``.
    """

    last_line_only: bool
    first_item_wins: bool
    exact_items: bool
    latest_any_case: bool
    syntax: re.Pattern[str]


#: as the microversion-parse library reads it (placement)
MICROVERSION_PARSE = HeaderGrammar(
    last_line_only=False,
    first_item_wins=False,
    exact_items=False,
    latest_any_case=False,
    syntax=_PLAIN,
)
#: as nova reads it: no leading zeros, the first item of the last line
NOVA = HeaderGrammar(
    last_line_only=True,
    first_item_wins=True,
    exact_items=True,
    latest_any_case=True,
    syntax=re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$"),
)

#: renders a negotiation error: (the service's versions, the error, the request id) → body
ErrorBody = Callable[["Microversions", VersionError, str], bytes]


@dataclass(frozen=True, slots=True)
class Microversions:
    """One service's microversions: its table, its header dialect, its error bodies."""

    service_type: str
    #: one entry per version, oldest first
    versions: Sequence[str]
    error_body: ErrorBody
    grammar: HeaderGrammar = MICROVERSION_PARSE
    #: the header as spelled in responses (and ``Vary``)
    header: str = "OpenStack-API-Version"
    #: an older header still accepted (and answered), e.g. X-OpenStack-Nova-API-Version
    legacy_header: str | None = None
    #: where the negotiated version is kept in the request's scope state
    state_key: str = ""
    minimum: Version = field(init=False)
    maximum: Version = field(init=False)
    known: frozenset[Version] = field(init=False)

    def __post_init__(self) -> None:
        parsed = [Version.parse(v) for v in self.versions]
        object.__setattr__(self, "minimum", parsed[0])
        object.__setattr__(self, "maximum", parsed[-1])
        object.__setattr__(self, "known", frozenset(parsed))
        if not self.state_key:
            object.__setattr__(self, "state_key", f"{self.service_type}_microversion")

    # -- negotiation --------------------------------------------------------------------
    def requested(self, values: Sequence[str], legacy: Sequence[str] = ()) -> str | None:
        """The version text the header lines (and legacy header lines) ask for."""
        grammar = self.grammar
        lines = values[-1:] if grammar.last_line_only else values
        found: str | None = None
        for item in ",".join(lines).split(","):
            if grammar.exact_items:
                words = item.split()
                if len(words) != 2:
                    continue
            else:
                words = item.strip().split(None, 1)
                if len(words) != 2:
                    continue
                words[1] = words[1].strip()
            if words[0].lower() == self.service_type:
                found = words[1]
                if grammar.first_item_wins:
                    break
        if found is None and legacy and legacy[-1]:
            return legacy[-1].strip()
        return found

    def negotiate(self, values: Sequence[str], legacy: Sequence[str] = ()) -> Version:
        """The version asked for; VersionError (400 malformed, 406 not served)."""
        text = self.requested(values, legacy)
        if text is None:
            return self.minimum
        if text == "latest" or (self.grammar.latest_any_case and text.lower() == "latest"):
            return self.maximum
        if not self.grammar.syntax.match(text):
            raise VersionError(400, text)
        version = Version(*(int(part) for part in text.split(".")))
        if version not in self.known:
            raise VersionError(406, text, version)
        return version

    def response_headers(self, version: Version) -> list[tuple[bytes, bytes]]:
        """What a negotiated response carries: the version, and ``Vary`` on the header(s)."""
        stamp = [(self.header.encode(), f"{self.service_type} {version}".encode())]
        vary = self.header
        if self.legacy_header:
            stamp.append((self.legacy_header.encode(), str(version).encode()))
            vary = f"{self.header}, {self.legacy_header}"
        stamp.append((b"vary", vary.encode()))
        return stamp

    # -- the handlers' side -------------------------------------------------------------
    def of_scope(self, scope: Scope) -> Version:
        found = scope.get("state", {}).get(self.state_key)
        return found if isinstance(found, Version) else self.minimum

    def current(self, request: Request) -> Version:
        """The FastAPI dependency: the request's negotiated version."""
        return self.of_scope(request.scope)


# -- route boundaries ---------------------------------------------------------------------
OPENAPI_KEY = "x-openstack-microversion"


@dataclass(frozen=True, slots=True)
class VersionRange:
    """The versions a route exists at; outside them it answers ``absent`` (404 or 405)."""

    minimum: Version
    maximum: Version | None = None
    absent: int = 404

    def __contains__(self, version: object) -> bool:
        if not isinstance(version, tuple) or version < self.minimum:
            return False
        return self.maximum is None or version <= self.maximum


def since(minimum: str, maximum: str | None = None, absent: int = 404) -> dict[str, Any]:
    """``openapi_extra`` declaring a route's versions: ``@router.get(path, openapi_extra=...)``."""
    _parse(minimum)
    if maximum is not None:
        _parse(maximum)
    bounds: dict[str, Any] = {"min": minimum}
    if maximum is not None:
        bounds["max"] = maximum
    if absent != 404:
        bounds["absent"] = absent
    return {OPENAPI_KEY: bounds}


def declared(route: BaseRoute | None) -> VersionRange | None:
    """The versions a route declared with :func:`since` (None: every version)."""
    extra = getattr(route, "openapi_extra", None)
    bounds = extra.get(OPENAPI_KEY) if extra else None
    if bounds is None:
        return None
    return _range(bounds["min"], bounds.get("max"), bounds.get("absent", 404))


@lru_cache(maxsize=256)
def _range(minimum: str, maximum: str | None, absent: int) -> VersionRange:
    return VersionRange(_parse(minimum), _parse(maximum) if maximum else None, absent)


# -- the middleware -----------------------------------------------------------------------
#: more response headers for a negotiated request (from its scope), e.g. a request id alias
ExtraHeaders = Callable[[Scope], Iterable[tuple[bytes, bytes]]]


class MicroversionMiddleware:
    """Negotiates every HTTP request's version and stamps the response headers."""

    def __init__(
        self, app: ASGIApp, versions: Microversions, extra_headers: ExtraHeaders | None = None
    ) -> None:
        self.app = app
        self.versions = versions
        self.extra_headers = extra_headers
        self._header = versions.header.lower().encode("latin-1")
        legacy = versions.legacy_header
        self._legacy = legacy.lower().encode("latin-1") if legacy else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        values: list[str] = []
        legacy: list[str] = []
        for key, value in scope["headers"]:
            if key == self._header:
                values.append(value.decode("latin-1"))
            elif key == self._legacy:
                legacy.append(value.decode("latin-1"))
        state = scope.setdefault("state", {})
        try:
            version = self.versions.negotiate(values, legacy)
        except VersionError as exc:
            body = self.versions.error_body(self.versions, exc, str(state.get("request_id", "")))
            await _send_error(send, exc.status, body)
            return
        state[self.versions.state_key] = version
        stamp = self.versions.response_headers(version)
        if self.extra_headers is not None:
            stamp.extend(self.extra_headers(scope))

        async def send_stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *stamp]
            await send(message)

        await self.app(scope, receive, send_stamped)


def strip_url_project(
    scope: Scope, prefix: str, key: str, is_project: Callable[[str, bool], bool]
) -> None:
    """``<prefix>{project_id}/rest`` is routed as ``<prefix>rest``; the project id is kept
    in the scope state under ``key`` (the handlers' dependency compares it with the
    token's). ``is_project(first_segment, more_follows)`` says whether the path's first
    segment after ``prefix`` is a project id (each API recognises them its own way)."""
    rest = scope["path"][len(prefix) :]
    first, sep, tail = rest.partition("/")
    if not first or not is_project(first, bool(sep)):
        return
    scope.setdefault("state", {})[key] = first
    scope["path"] = prefix + tail
    if scope.get("raw_path"):
        scope["raw_path"] = scope["path"].encode()


async def _send_error(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
