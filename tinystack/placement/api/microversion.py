"""Placement microversions: the one list of versions and the negotiation middleware.

A request names its version with ``OpenStack-API-Version: placement X.Y`` (or
``latest``); without the header it gets the minimum, 1.0. A malformed value is
a 400, a well-formed version outside the list a 406 that tells the client the
range. Every other response carries ``OpenStack-API-Version`` and
``Vary: openstack-api-version``. Error bodies gained their ``code`` at 1.23;
for older versions the middleware drops it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SERVICE_TYPE = "placement"
HEADER = "openstack-api-version"
STATE_KEY = "placement_microversion"

# The canonical list: one line per version, what it added.
VERSIONS = [
    "1.0",  # initial API
    "1.1",  # provider aggregates
    "1.2",  # custom resource classes
    "1.3",  # member_of on GET /resource_providers
    "1.4",  # resources on GET /resource_providers
    "1.5",  # DELETE /resource_providers/{uuid}/inventories
    "1.6",  # traits
    "1.7",  # PUT /resource_classes/{name} creates or verifies
    "1.8",  # project_id and user_id required in PUT /allocations
    "1.9",  # GET /usages
    "1.10",  # GET /allocation_candidates
    "1.11",  # allocations link on providers
    "1.12",  # dict-shaped PUT /allocations/{consumer}
    "1.13",  # POST /allocations
    "1.14",  # nested providers, in_tree
    "1.15",  # last-modified and cache-control headers
    "1.16",  # limit on allocation candidates
    "1.17",  # required traits on allocation candidates
    "1.18",  # required traits on GET /resource_providers
    "1.19",  # generation on provider aggregates
    "1.20",  # POST /resource_providers returns the provider
    "1.21",  # member_of on allocation candidates
    "1.22",  # forbidden traits
    "1.23",  # error codes
    "1.24",  # repeated member_of
    "1.25",  # granular request groups
    "1.26",  # reserved may equal total
    "1.27",  # all inventories in provider summaries
    "1.28",  # consumer generations
    "1.29",  # nested providers in allocation candidates
    "1.30",  # POST /reshaper
    "1.31",  # in_tree on allocation candidates
    "1.32",  # forbidden aggregates
    "1.33",  # string request group suffixes
    "1.34",  # request group mappings
    "1.35",  # root_required
    "1.36",  # same_subtree
    "1.37",  # re-parenting providers
    "1.38",  # consumer types
    "1.39",  # any-traits (in:) in required
]

_FORMAT = re.compile(r"^\d+\.\d+$")


@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> Version:
        if not _FORMAT.match(text):
            raise ValueError(f"invalid version string: {text}")
        major, minor = text.split(".")
        return cls(int(major), int(minor))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"

    def matches(self, minimum: str, maximum: str | None = None) -> bool:
        """Whether this version is within [minimum, maximum] (maximum: the latest)."""
        if self < Version.parse(minimum):
            return False
        return maximum is None or self <= Version.parse(maximum)


MIN_VERSION = Version.parse(VERSIONS[0])
MAX_VERSION = Version.parse(VERSIONS[-1])
_KNOWN = {Version.parse(v) for v in VERSIONS}


class VersionError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def negotiate(values: list[str]) -> Version:
    """The version requested by the ``OpenStack-API-Version`` header values."""
    wanted = None
    for item in reversed(",".join(values).split(",")):
        parts = item.strip().split(None, 1)
        if len(parts) == 2 and parts[0].lower() == SERVICE_TYPE:
            wanted = parts[1].strip()
            break
    if wanted is None:
        return MIN_VERSION
    if wanted == "latest":
        return MAX_VERSION
    try:
        version = Version.parse(wanted)
    except ValueError as exc:
        raise VersionError(400, f"Invalid microversion: {exc}") from None
    if version not in _KNOWN:
        raise VersionError(406, f"Unacceptable version header: {wanted}")
    return version


def version_of(request: Request) -> Version:
    version: Version = request.scope.get("state", {}).get(STATE_KEY, MIN_VERSION)
    return version


def _error_body(status: int, message: str, request_id: str) -> bytes:
    error: dict[str, object] = {
        "status": status,
        "title": "Not Acceptable" if status == 406 else "Bad Request",
        "detail": message,
        "request_id": request_id,
    }
    if status == 406:
        error["max_version"] = str(MAX_VERSION)
        error["min_version"] = str(MIN_VERSION)
    return json.dumps({"errors": [error]}).encode()


class MicroversionMiddleware:
    """Negotiate the version, then stamp the response headers (and fix old error bodies)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        values = [v.decode("latin-1") for k, v in scope["headers"] if k == b"openstack-api-version"]
        state = scope.setdefault("state", {})
        try:
            version = negotiate(values)
        except VersionError as exc:
            body = _error_body(exc.status, exc.message, str(state.get("request_id", "")))
            await send(
                {
                    "type": "http.response.start",
                    "status": exc.status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        state[STATE_KEY] = version
        stamp = [
            (HEADER.encode(), f"{SERVICE_TYPE} {version}".encode()),
            (b"vary", HEADER.encode()),
        ]
        strip_code = version < Version(1, 23)
        held: list[Message] = []

        async def send_stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *stamp]
                if strip_code and message["status"] >= 400:
                    held.append(message)
                    return
            elif held:
                held.append(message)
                if not message.get("more_body"):
                    await _send_without_code(held, send)
                return
            await send(message)

        await self.app(scope, receive, send_stamped)


async def _send_without_code(messages: list[Message], send: Send) -> None:
    """Drop ``code`` from an error body (microversions before 1.23 have none)."""
    start, bodies = messages[0], messages[1:]
    body = b"".join(m.get("body", b"") for m in bodies)
    try:
        data = json.loads(body)
        for error in data.get("errors", []):
            error.pop("code", None)
        body = json.dumps(data).encode()
    except (ValueError, AttributeError):
        pass
    headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": body})
