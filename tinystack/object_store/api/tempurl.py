"""Temp URL requests (``temp_url_sig`` and ``temp_url_expires`` in the query): checked
before the handlers (``services/tempurl.py``); a valid one leaves its grant in the
request's state, which ``deps.authorize_account`` takes instead of a token, an invalid
or expired one is answered 401 as Swift's tempurl answers. Responses lose the object's
``X-Object-Meta-*`` (but ``X-Object-Meta-Public-*``) and downloads get Swift's
``Content-Disposition`` (``inline``, ``filename``) and ``Expires``."""

from __future__ import annotations

import email.utils
import posixpath
import urllib.parse

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tinystack.object_store.services import tempurl
from tinystack.object_store.services.deps import Deps

STATE = "tempurl"
#: request headers a temp URL may not send with a write, and those dropped
DISALLOWED = ("x-object-manifest", "x-symlink-target")
REMOVED = (b"x-timestamp", b"x-open-expired")
INVALID = b"401 Unauthorized: Temp URL invalid\n"
#: what the handlers see of the query (Swift drops the rest)
PASSED = ("temp_url_sig", "temp_url_expires", "temp_url_prefix", "filename", "inline")


def disposition(kind: str, filename: str) -> str:
    quoted = urllib.parse.quote(filename, safe=" /")
    return f"{kind}; filename=\"{quoted}\"; filename*=UTF-8''{urllib.parse.quote(filename)}"


def _outgoing(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers
            if not k.lower().startswith(b"x-object-meta-")
            or k.lower().startswith(b"x-object-meta-public-")]  # fmt: skip


def _request(scope: Scope, query: dict[str, str]) -> tempurl.TempURLRequest:
    parts = scope["path"].split("/", 4)
    account, container, obj = (parts + [""] * 5)[2:5]
    return tempurl.TempURLRequest(
        scope.get("method", ""), account, container, obj, query.get("temp_url_sig", ""),
        query.get("temp_url_expires", ""), query.get("temp_url_prefix"),
        query.get("temp_url_ip_range"), (scope.get("client") or (None,))[0],
    )  # fmt: skip


async def _answer(send: Send, status: int, body: bytes, head: bool = False) -> None:
    headers = [(b"content-type", b"text/plain; charset=UTF-8"),
               (b"content-length", str(0 if head else len(body)).encode())]  # fmt: skip
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


class TempURLMiddleware:
    def __init__(self, app: ASGIApp, state_key: str) -> None:
        self.app = app
        self.state_key = state_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("query_string", b"").decode("latin-1") if scope["type"] == "http" else ""
        query = {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
        method = scope.get("method", "")
        if method == "OPTIONS" or not {"temp_url_sig", "temp_url_expires"} & set(query):
            await self.app(scope, receive, send)
            return
        req = _request(scope, query)
        deps: Deps = getattr(scope["app"].state, self.state_key)
        grant = None
        if scope["path"].startswith("/v1/"):
            grant = await anyio.to_thread.run_sync(tempurl.verify, deps, req)
        if grant is None:
            await _answer(send, 401, INVALID, method == "HEAD")
            return
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in REMOVED]
        refused = [k for k, _ in headers if k.decode("latin-1").lower() in DISALLOWED]
        if refused and method not in ("GET", "HEAD"):
            name = refused[0].decode("latin-1").title()
            await _answer(send, 400, f"The header {name!r} is not allowed in this tempurl".encode())
            return
        kept = {k: v for k, v in query.items() if k in PASSED}
        state = {**scope.get("state", {}), STATE: grant}
        scope = {**scope, "headers": headers, "state": state,
                 "query_string": urllib.parse.urlencode(kept).encode()}  # fmt: skip

        async def send_shaped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": self._shaped(message, req, query, grant)}
            await send(message)

        await self.app(scope, receive, send_shaped)

    @staticmethod
    def _shaped(
        message: Message, req: tempurl.TempURLRequest, query: dict[str, str],
        grant: tempurl.Grant,
    ) -> list[tuple[bytes, bytes]]:  # fmt: skip
        headers = _outgoing(list(message.get("headers", [])))
        if req.method not in ("GET", "HEAD") or not 200 <= message["status"] < 300:
            return headers
        existing = next((v.decode("latin-1") for k, v in headers
                         if k.lower() == b"content-disposition"), None)  # fmt: skip
        headers = [(k, v) for k, v in headers if k.lower() != b"content-disposition"]
        filename = query.get("filename")
        if "inline" in query:
            value = disposition("inline", filename) if filename else "inline"
        elif filename:
            value = disposition("attachment", filename)
        elif existing:
            value = existing
        else:
            value = disposition("attachment", posixpath.basename(req.obj.rstrip("/")))
        expires = email.utils.formatdate(grant.expires, usegmt=True)
        return [*headers, (b"content-disposition", value.replace("\n", "%0A").encode()),
                (b"expires", expires.encode())]  # fmt: skip
