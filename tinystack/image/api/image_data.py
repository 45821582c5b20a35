"""Image data: ``PUT/GET /v2/images/{id}/file``, ``PUT .../stage`` and ``POST .../import``.

Uploads are the one place with ``async`` handlers: the body is read from the
event loop chunk by chunk and handed to a worker thread in batches of a few
MiB (hashing, inspection and the file write happen there, overlapping with
reading the next batch), so memory stays flat whatever the image size.
Downloads stream from the store one chunk at a time with ``Range`` support.
Handlers only; routes are in :mod:`tinystack.image.api.router`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

import anyio.to_thread
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import BadRequest, RangeNotSatisfiable, UnsupportedMediaType
from tinystack.image.api.deps import DepsDep, ImageImportBody
from tinystack.image.api.views import render_task
from tinystack.image.services import image_data, image_import, tasks
from tinystack.image.services.image_data import Transfer, UploadRequest, parse_md5
from tinystack.image.store.base import DataReader

#: bytes gathered from the socket before a batch is handed to the worker thread
BATCH_BYTES = 4 * 1024 * 1024
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def upload_request(request: Request) -> UploadRequest:
    """The headers of an upload, checked (415 for a wrong media type, 400 for bad sizes)."""
    media_type = request.headers.get("content-type")
    if media_type is None or media_type.split(";")[0].strip().lower() != "application/octet-stream":
        raise UnsupportedMediaType(
            f"Content type {media_type} is not supported; use application/octet-stream."
        )

    def size(header: str) -> int | None:
        value = request.headers.get(header)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            number = -1
        if number < 0:
            raise BadRequest("Invalid or missing image size in request headers.")
        return number

    return UploadRequest(
        declared_size=size("x-openstack-image-size"),
        content_length=size("content-length"),
        content_md5=parse_md5(request.headers.get("content-md5")),
        store=request.headers.get("x-image-meta-store"),
    )


async def _pump(request: Request, transfer: Transfer) -> None:
    """Stream the request body into ``transfer``; commit it, or abort on any failure."""
    pending: asyncio.Task[None] | None = None
    batch: list[bytes] = []
    batched = 0
    try:
        async for chunk in request.stream():
            if not chunk:
                continue
            batch.append(chunk)
            batched += len(chunk)
            if batched >= BATCH_BYTES:
                if pending is not None:
                    await pending
                pending = asyncio.ensure_future(anyio.to_thread.run_sync(transfer.write, batch))
                batch, batched = [], 0
        if pending is not None:
            await pending
            pending = None
        if batch:
            await anyio.to_thread.run_sync(transfer.write, batch)
    except BaseException:
        if pending is not None:
            with contextlib.suppress(BaseException):
                await pending
        await anyio.to_thread.run_sync(transfer.abort)
        raise
    await anyio.to_thread.run_sync(transfer.commit)


async def _receive(request: Request, transfer: Transfer) -> Response:
    try:
        await _pump(request, transfer)
    except ClientDisconnect:
        return Response(status_code=400)
    return Response(status_code=204)


async def upload_image(image_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = upload_request(request)
    begin = image_data.begin_upload
    transfer = await anyio.to_thread.run_sync(begin, deps, ctx, image_id, params)
    return await _receive(request, transfer)


async def stage_image(image_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = upload_request(request)
    begin = image_data.begin_stage
    transfer = await anyio.to_thread.run_sync(begin, deps, ctx, image_id, params)
    return await _receive(request, transfer)


def import_image(image_id: str, ctx: ContextDep, deps: DepsDep, body: ImageImportBody) -> Response:
    image_import.import_image(deps, ctx, image_id, body)
    return Response(status_code=202)


def parse_range(header: str | None) -> tuple[int | None, int | None] | None:
    """``Range: bytes=a-b`` as (a, b); (None, n) for the last n bytes; None when absent."""
    if header is None:
        return None
    if "," in header:
        raise BadRequest(
            "Requests with multiple ranges are not supported in Glance. You may make "
            "multiple single-range requests instead."
        )
    match = _RANGE.match(header)
    if not match or not any(match.groups()):
        raise RangeNotSatisfiable("Invalid Range header.")
    first, last = (int(g) if g else None for g in match.groups())
    return first, last


async def _stream(reader: DataReader) -> AsyncIterator[bytes]:
    try:
        while chunk := await anyio.to_thread.run_sync(reader.read):
            yield chunk
    finally:
        # closing may call other services (a cinder store detaches its volume): off the
        # event loop, and shielded so a client gone mid-download still releases it
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(reader.close)


def download_image(image_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    byte_range = parse_range(request.headers.get("range"))
    download = image_data.open_download(deps, ctx, image_id, byte_range)
    if download is None:
        return Response(status_code=204)
    reader = download.reader
    headers = {"Content-Length": str(reader.size)}
    if download.checksum:
        headers["Content-MD5"] = download.checksum
    status = 200
    if download.partial:
        status = 206
        last = download.offset + reader.size - 1
        headers["Content-Range"] = f"bytes {download.offset}-{last}/{download.image_size}"
    return StreamingResponse(
        _stream(reader), status_code=status, headers=headers, media_type="application/octet-stream"
    )


def image_tasks(image_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    records = tasks.list_for_image(deps, ctx, image_id)
    return JSONResponse({"tasks": [render_task(t) for t in records]})
