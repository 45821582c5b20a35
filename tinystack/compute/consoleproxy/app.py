"""The console proxy's ASGI app: token-checked WebSocket relays and the noVNC files."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from urllib.parse import urlsplit

from starlette.responses import PlainTextResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from tinystack.common.exceptions import NotFound
from tinystack.compute.services import consoles
from tinystack.compute.services.consoles import ConsoleConnection
from tinystack.compute.services.deps import Deps

LOG = logging.getLogger(__name__)
#: bytes read from the guest per WebSocket frame at most
CHUNK = 64 * 1024
#: the WebSocket subprotocol noVNC and websockify clients may ask for
BINARY = "binary"


class ConsoleProxy:
    """One proxy: the console types its tokens must have and, for noVNC, the client's files."""

    def __init__(self, deps: Deps, kinds: tuple[str, ...], static_dir: str | None) -> None:
        self.deps = deps
        self.kinds = kinds
        self.static: StaticFiles | None = None
        if static_dir is not None and Path(static_dir, "vnc_lite.html").is_file():
            self.static = StaticFiles(directory=static_dir)
        elif static_dir is not None:
            LOG.warning("no noVNC client in %s: install Debian's novnc package", static_dir)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self.relay(WebSocket(scope, receive, send))
        elif scope["type"] == "http" and self.static is not None:
            await self.static(scope, receive, send)
        elif scope["type"] == "http":
            text = "no noVNC client here (apt-get install novnc, or set [console] novnc_dir)"
            await PlainTextResponse(text, status_code=404)(scope, receive, send)

    async def relay(self, ws: WebSocket) -> None:
        token = ws.query_params.get("token") or ws.cookies.get("token") or ""
        if not _same_origin(ws):
            LOG.warning("console proxy: refused a WebSocket from origin %s", ws.headers["origin"])
            await ws.close(code=1008)
            return
        try:
            target = await asyncio.to_thread(consoles.connect, self.deps, token, self.kinds)
        except NotFound:
            LOG.info("console proxy: refused an invalid or used token")
            await ws.close(code=1008)
            return
        try:
            reader, writer = await _open(target)
        except OSError as exc:
            LOG.warning("console of %s unreachable: %s", target.instance_uuid, exc)
            await ws.close(code=1011)
            return
        wanted = ws.scope.get("subprotocols") or []
        await ws.accept(subprotocol=BINARY if BINARY in wanted else None)
        LOG.info("console proxy: %s session to %s", target.console_type, target.instance_uuid)
        try:
            await _pump(ws, reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def _same_origin(ws: WebSocket) -> bool:
    """A browser's Origin must name the host the request was sent to (Nova checks the
    Origin too); clients that send none (not browsers) pass."""
    origin = ws.headers.get("origin")
    if not origin:
        return True
    host = ws.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


async def _open(target: ConsoleConnection) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if target.internal_access_path:
        return await asyncio.open_unix_connection(target.internal_access_path)
    return await asyncio.open_connection(target.host, target.port)


async def _pump(ws: WebSocket, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Relay until either side closes."""

    async def to_guest() -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                data = (message.get("text") or "").encode()
            writer.write(data)
            await writer.drain()

    async def to_client() -> None:
        while data := await reader.read(CHUNK):
            await ws.send_bytes(data)

    tasks = [asyncio.create_task(to_guest()), asyncio.create_task(to_client())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, OSError):
                await task
        with contextlib.suppress(RuntimeError, OSError):
            await ws.close()
