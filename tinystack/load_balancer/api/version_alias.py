"""``/v2.0/...`` is ``/v2/...``: Octavia serves its v2 API under both prefixes (and
python-octaviaclient uses ``/v2.0``), so the path is rewritten before routing."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

ALIAS, CANONICAL = "/v2.0/", "/v2/"


class VersionAlias:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(ALIAS):
            path = CANONICAL + scope["path"][len(ALIAS) :]
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)
