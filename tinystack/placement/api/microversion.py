"""Placement microversions: the one list of versions, configuring the common negotiation.

A request names its version with ``OpenStack-API-Version: placement X.Y`` (or
``latest``); without the header it gets the minimum, 1.0. A malformed value is
a 400, a well-formed version outside the list a 406 that tells the client the
range. Every other response carries ``OpenStack-API-Version`` and
``Vary: openstack-api-version``. Error bodies gained their ``code`` at 1.23;
for older versions the middleware drops it.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tinystack.common.api.microversion import (
    MICROVERSION_PARSE,
    Microversions,
    Version,
    VersionError,
)

__all__ = ["MAX_VERSION", "MIN_VERSION", "PLACEMENT", "VERSIONS", "Version", "VersionDep"]

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

STATE_KEY = "placement_microversion"


def _error_body(versions: Microversions, exc: VersionError, request_id: str) -> bytes:
    error: dict[str, object] = {
        "status": exc.status,
        "title": "Not Acceptable" if exc.status == 406 else "Bad Request",
        "detail": (
            f"Unacceptable version header: {exc.requested}"
            if exc.status == 406
            else f"Invalid microversion: invalid version string: {exc.requested}"
        ),
        "request_id": request_id,
    }
    if exc.status == 406:
        error["max_version"] = str(versions.maximum)
        error["min_version"] = str(versions.minimum)
    return json.dumps({"errors": [error]}).encode()


PLACEMENT = Microversions(
    service_type="placement",
    versions=tuple(VERSIONS),
    error_body=_error_body,
    grammar=MICROVERSION_PARSE,
    header="openstack-api-version",
    state_key=STATE_KEY,
)
MIN_VERSION = PLACEMENT.minimum
MAX_VERSION = PLACEMENT.maximum
_ERROR_CODES = Version(1, 23)


def version_of(request: Request) -> Version:
    return PLACEMENT.current(request)


VersionDep = Annotated[Version, Depends(PLACEMENT.current)]


class ErrorCodeMiddleware:
    """Error bodies gained their ``code`` at 1.23: drop it for older versions."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or PLACEMENT.of_scope(scope) >= _ERROR_CODES:
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def send_without_code(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] >= 400:
                    held.append(message)
                    return
            elif held:
                held.append(message)
                if not message.get("more_body"):
                    await _send_without_code(held, send)
                return
            await send(message)

        await self.app(scope, receive, send_without_code)


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
