"""FormPost requests (a ``multipart/form-data`` POST to a container or object path): the
form is read as it streams (its fields first, then each file straight into an object
PUT), the signature checked at the first file (``services/formpost.py``), and the
answer is Swift's: ``201 Created`` as text, or a 303 to the form's ``redirect`` with
``status`` and ``message``. Fields after a file are ignored, as Swift does."""

from __future__ import annotations

import email.message
import email.parser
import urllib.parse
from collections.abc import AsyncIterator

import anyio
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from tinystack.common.exceptions import TinystackError
from tinystack.object_store.api import headers
from tinystack.object_store.services import formpost
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.objects import ObjectPath

MAX_VALUE_LENGTH = 4096
MAX_HEADERS = 65536
BATCH = 1024 * 1024


class MimeInvalid(Exception):
    """No starting boundary, or a body cut short."""


class FileTooLarge(Exception):
    """A file over the form's max_file_size."""


class Body:
    """The request body as a buffer filled from its stream on demand."""

    def __init__(self, stream: AsyncIterator[bytes]) -> None:
        self.stream = stream
        self.buf = b""
        self.eof = False

    async def fill(self) -> bool:
        if self.eof:
            return False
        try:
            self.buf += await self.stream.__anext__()
        except StopAsyncIteration:
            self.eof = True
            return False
        return True

    async def until(self, sep: bytes, limit: int) -> bytes | None:
        """What comes before ``sep`` (consumed); None at the end of the body."""
        while (at := self.buf.find(sep)) < 0:
            if len(self.buf) > limit or not await self.fill():
                return None
        data, self.buf = self.buf[:at], self.buf[at + len(sep) :]
        return data

    async def chunks(self, sep: bytes) -> AsyncIterator[bytes]:
        """The bytes before ``sep``, as they arrive; ``sep`` is consumed."""
        while True:
            at = self.buf.find(sep)
            if at >= 0:
                data, self.buf = self.buf[:at], self.buf[at + len(sep) :]
                if data:
                    yield data
                return
            keep = len(sep) - 1
            if len(self.buf) > keep:
                data, self.buf = self.buf[: len(self.buf) - keep], self.buf[len(self.buf) - keep :]
                yield data
            if not await self.fill():
                raise MimeInvalid()


async def _raw_headers(body: Body) -> bytes:
    while len(body.buf) < 2 and await body.fill():
        pass
    if body.buf.startswith(b"\r\n"):  # no headers
        body.buf = body.buf[2:]
        return b""
    raw = await body.until(b"\r\n\r\n", MAX_HEADERS)
    if raw is None:
        raise MimeInvalid()
    return raw


def _part_headers(raw: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """The part's headers (lower-case names) and its Content-Disposition parameters."""
    message = email.parser.BytesHeaderParser().parsebytes(raw + b"\r\n\r\n")
    found = {k.lower(): str(v) for k, v in message.items()}
    params = {k.lower(): v for k, v in message.get_params(header="content-disposition") or []}
    return found, params


class Form:
    """One form POST being translated into object PUTs."""

    def __init__(self, deps: Deps, account: str, container: str, obj: str, path: str) -> None:
        self.deps = deps
        self.account, self.container, self.obj, self.path = account, container, obj, path
        self.attributes: dict[str, str] = {}
        self.files = 0
        self.status = 0
        self.message = ""

    async def run(self, body: Body, boundary: bytes) -> None:
        if await body.until(b"--" + boundary, MAX_HEADERS) is None:
            raise MimeInvalid()
        delimiter = b"\r\n--" + boundary
        while True:
            while len(body.buf) < 2 and await body.fill():
                pass
            if body.buf.startswith(b"--") or not body.buf:
                return
            await body.until(b"\r\n", MAX_HEADERS)  # the rest of the boundary line
            found, params = _part_headers(await _raw_headers(body))
            part = body.chunks(delimiter)
            if found.get("content-disposition", "").startswith("form-data") and params.get(
                "filename"
            ):
                if not await self.upload(part, found, params["filename"]):
                    return
                continue
            value = b""
            async for chunk in part:
                value = (value + chunk)[:MAX_VALUE_LENGTH]
            if "name" in params:
                text = value.decode("utf-8", "replace")
                self.attributes[params["name"].lower()] = text.rstrip("\r\n-")

    async def upload(self, part: AsyncIterator[bytes], found: dict[str, str], name: str) -> bool:
        """One file into ``<prefix><filename>``; False when the form stops here."""
        self.files += 1
        max_size, max_count = formpost.limits(self.attributes)
        if self.files > max_count:
            self.status, self.message = 400, "max file count exceeded"
            return False
        attributes = dict(self.attributes)
        for key in ("content-type", "content-encoding"):
            if key not in attributes and key in found:
                attributes[key] = found[key]
        deps = self.deps
        await anyio.to_thread.run_sync(
            formpost.verify, deps, self.account, self.container, self.path, self.attributes
        )
        obj = self.obj + name
        headers.check_object(obj)
        path = ObjectPath(self.account, self.container, obj)
        meta = formpost.file_metadata(attributes)
        upload = await anyio.to_thread.run_sync(formpost.begin_upload, deps, path, meta)
        try:
            size = 0
            async for chunk in part:
                size += len(chunk)
                if size > max_size:
                    raise FileTooLarge()
                await anyio.to_thread.run_sync(upload.write, [chunk])
            reply = await anyio.to_thread.run_sync(formpost.finish_upload, upload)
        except BaseException:
            await anyio.to_thread.run_sync(upload.abort)
            raise
        self.status = reply.status
        return True


class FormPostMiddleware:
    def __init__(self, app: ASGIApp, state_key: str) -> None:
        self.app = app
        self.state_key = state_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        boundary = _boundary(scope) if scope["type"] == "http" else None
        if boundary is None or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        parts = (scope["path"].split("/", 4) + [""] * 5)[:5]
        _, version, account, container, obj = parts
        deps: Deps = getattr(scope["app"].state, self.state_key)
        form = Form(deps, account, container if version == "v1" else "", obj, scope["path"])
        try:
            await form.run(Body(Request(scope, receive).stream().__aiter__()), boundary)
        except MimeInvalid:
            await _answer(send, 400, b"FormPost: invalid starting boundary")
            return
        except FileTooLarge:
            await _answer(send, 400, b"FormPost: max_file_size exceeded")
            return
        except formpost.FormInvalid as exc:
            await _answer(send, 400, f"FormPost: {exc.message}".encode())
            return
        except formpost.FormUnauthorized as exc:
            await _answer(send, 401, f"FormPost: {exc.message.title()}".encode())
            return
        except TinystackError as exc:
            form.status = exc.status
        await _finish(send, form)


def _boundary(scope: Scope) -> bytes | None:
    content_type = next((v.decode("latin-1") for k, v in scope["headers"]
                         if k.lower() == b"content-type"), "")  # fmt: skip
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_type() != "multipart/form-data":
        return None
    boundary = message.get_param("boundary")
    return boundary.encode() if isinstance(boundary, str) and boundary else None


TITLES = {201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
          412: "Precondition Failed", 413: "Request Entity Too Large"}  # fmt: skip


async def _finish(send: Send, form: Form) -> None:
    status, message = form.status, form.message
    if not status:
        status, message = 400, "no files to process"
    line = f"{status} {TITLES.get(status, 'Error')}"
    redirect = form.attributes.get("redirect")
    if not redirect:
        text = line + (f"\r\nFormPost: {message.title()}" if message else "")
        await _answer(send, status, text.encode())
        return
    redirect += "&" if "?" in redirect else "?"
    redirect += f"status={status}&message={urllib.parse.quote(message)}"
    body = f'<html><body><p><a href="{redirect}">Click to continue...</a></p></body></html>'
    await _answer(send, 303, body.encode(), [(b"location", redirect.encode())], "text/html")


async def _answer(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None,
    media: str = "text/plain",
) -> None:  # fmt: skip
    headers = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status,
                "headers": headers + (extra or [])})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
