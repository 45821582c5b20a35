"""What the three storage servers share: the path of a backend request, errors as
Swift's servers answer them, and the app shell."""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tinystack.common.exceptions import BadRequest, TinystackError

LOG = logging.getLogger(__name__)
METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "REPLICATE"]


@dataclass(frozen=True, slots=True)
class BackendPath:
    device: str
    partition: int
    account: str = ""
    container: str = ""
    obj: str = ""

    @property
    def depth(self) -> int:
        return 2 + sum(1 for p in (self.account, self.container, self.obj) if p)


def parse_path(raw: str) -> BackendPath:
    """``/<device>/<partition>[/<account>[/<container>[/<object>]]]``; the object keeps
    its slashes."""
    parts = urllib.parse.unquote(raw).lstrip("/").split("/", 4)
    if len(parts) < 2 or not parts[0] or not parts[1].isdigit():
        raise BadRequest("Invalid path")
    parts += [""] * (5 - len(parts))
    dev, part, account, container, obj = parts
    if (container and not account) or (obj and not container):
        raise BadRequest("Invalid path")
    return BackendPath(dev, int(part), account, container, obj)


Handler = Callable[[Request, BackendPath], Awaitable[Response]]
T = TypeVar("T")


class Workers:
    """A storage server's own worker threads. In the all-in-one process the proxy's
    handlers hold threads while they wait on the storage servers; with one shared pool
    the servers could find none left (and the proxy would wait out its timeouts)."""

    def __init__(self, tokens: int = 32) -> None:
        self.tokens = tokens
        self._limiter: anyio.CapacityLimiter | None = None

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        if self._limiter is None:  # made in the event loop, on first use
            self._limiter = anyio.CapacityLimiter(self.tokens)
        return await anyio.to_thread.run_sync(func, *args, limiter=self._limiter)


def make_app(name: str, handle: Handler) -> Starlette:
    async def endpoint(request: Request) -> Response:
        try:
            path = parse_path(request.url.path)
        except BadRequest as exc:
            return Response(exc.message, status_code=400)
        try:
            return await handle(request, path)
        except TinystackError as exc:
            return Response(exc.message, status_code=exc.status)
        except Exception:
            LOG.exception("%s server: %s %s failed", name, request.method, request.url.path)
            return Response("Internal Server Error", status_code=500)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=METHODS)])
