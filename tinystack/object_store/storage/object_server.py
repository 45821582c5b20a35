"""The object server: ``/<device>/<partition>/<account>/<container>/<object>`` GET, HEAD,
PUT, POST, DELETE and ``GET /<device>/<partition>`` (the suffix hashes Swift's REPLICATE
returns)."""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Iterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tinystack.common.exceptions import BadRequest, MethodNotAllowed, NotFound
from tinystack.object_store.ring.ring import hash_path
from tinystack.object_store.storage import diskfile, expirer
from tinystack.object_store.storage.diskfile import DiskFile, ObjectState
from tinystack.object_store.storage.http import BackendPath, Workers, make_app
from tinystack.object_store.storage.intents import Intent, drop_intent
from tinystack.object_store.storage.paths import device_path, normalize
from tinystack.object_store.storage.updates import (
    ContainerUpdate,
    note_intent,
    update_container,
)

BATCH = 1024 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
#: metadata a PUT keeps (besides X-Object-Meta-*)
KEPT = ("content-type", "content-disposition", "content-encoding", "x-delete-at",
        "x-object-manifest", "x-static-large-object")  # fmt: skip
IGNORE_RANGE = "x-backend-ignore-range-if-metadata-present"
SYSMETA = "x-object-sysmeta-"
#: container update overrides a PUT may carry (SLO's total size and etags, symlink
#: targets): what the listing shows instead of the stored object's own values
OVERRIDE = "x-backend-container-update-override-"
OVERRIDES = {"etag": "X-Etag", "size": "X-Size", "content-type": "X-Content-Type"}


def _meta_from(request: Request) -> dict[str, str]:
    meta = {}
    for key, value in request.headers.items():
        if key.startswith(("x-object-meta-", SYSMETA)) or key in KEPT:
            meta[_title(key)] = value
    return meta


def _title(key: str) -> str:
    return "-".join(p.capitalize() for p in key.split("-")).replace("Etag", "ETag")


def _timestamp(request: Request) -> str:
    raw = request.headers.get("x-timestamp")
    try:
        return normalize(raw or "")
    except ValueError as exc:
        raise BadRequest("Missing or invalid X-Timestamp header") from exc


def last_modified(timestamp: str) -> str:
    return email.utils.formatdate(int(float(timestamp) + 0.99999), usegmt=True)


def _name(path: BackendPath) -> str:
    return f"/{path.account}/{path.container}/{path.obj}"


def object_headers(state: ObjectState) -> dict[str, str]:
    headers = {k: v for k, v in state.metadata.items() if k != diskfile.NAME}
    headers["X-Backend-Timestamp"] = state.timestamp
    headers["Last-Modified"] = last_modified(state.timestamp)
    headers.setdefault("Content-Type", "application/octet-stream")
    return headers


class ObjectServer:
    def __init__(self, devices: Path, hash_suffix: str) -> None:
        self.devices = devices
        self.suffix = hash_suffix
        self.workers = Workers()

    def disk(self, path: BackendPath) -> DiskFile:
        dev = device_path(self.devices, path.device)
        name_hash = hash_path("", self.suffix, path.account, path.container, path.obj)
        return DiskFile(dev, path.partition, name_hash)

    async def handle(self, request: Request, path: BackendPath) -> Response:
        method = request.method
        # Swift's REPLICATE verb: uvicorn's parser (llhttp) knows no such method, so the
        # suffix hashes are a GET of the partition itself
        if method in ("GET", "REPLICATE") and path.depth == 2:
            dev = device_path(self.devices, path.device)
            hashes = await self.workers.run(diskfile.suffix_hashes, dev, path.partition)
            return Response(json.dumps(hashes), media_type="application/json")
        if path.depth != 5:
            raise BadRequest("Invalid path")
        if method in ("GET", "HEAD"):
            return await self.workers.run(self.get, request, path)
        if method == "PUT":
            return await self.put(request, path)
        if method == "POST":
            return await self.workers.run(self.post, request, path)
        if method == "DELETE":
            return await self.workers.run(self.delete, request, path)
        raise MethodNotAllowed()

    # -- reads -------------------------------------------------------------------------
    def get(self, request: Request, path: BackendPath) -> Response:
        state = self.disk(path).state()
        if state is not None and state.data is not None and expirer.expired(state.metadata):
            return Response(status_code=404, headers={"X-Backend-Timestamp": state.timestamp})
        if state is None or state.data is None:
            headers = {"X-Backend-Timestamp": state.timestamp} if state else {}
            return Response(status_code=404, headers=headers)
        headers = object_headers(state)
        etag = headers["ETag"]
        if _whole_wanted(request, state.metadata):
            # a manifest or a symlink: the proxy evaluates range and conditions
            headers["ETag"] = f'"{etag}"'
            return self._body(request, state, headers, 0, int(headers["Content-Length"]), 200)
        if_match = request.headers.get("if-match")
        bodiless = {k: v for k, v in headers.items() if k != "Content-Length"}
        bodiless["ETag"] = f'"{etag}"'
        if if_match and not _etag_in(etag, if_match):
            return Response(status_code=412, headers=bodiless)
        if_none = request.headers.get("if-none-match")
        if if_none and _etag_in(etag, if_none):
            return Response(status_code=304, headers=bodiless)
        unmodified = _since(request.headers.get("if-unmodified-since"))
        if unmodified is not None and float(state.timestamp) > unmodified:
            return Response(status_code=412, headers=bodiless)
        modified = _since(request.headers.get("if-modified-since"))
        if modified is not None and float(state.timestamp) <= modified:
            return Response(status_code=304, headers=bodiless)
        headers["ETag"] = f'"{etag}"'
        size = int(headers["Content-Length"])
        start, end, status = 0, size, 200
        wanted = _range(request.headers.get("range"), size)
        if wanted is not None:
            start, end = wanted
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
            headers["Content-Length"] = str(end - start)
        return self._body(request, state, headers, start, end, status)

    def _body(
        self, request: Request, state: ObjectState, headers: dict[str, str], start: int,
        end: int, status: int,
    ) -> Response:  # fmt: skip
        assert state.data is not None
        headers["Accept-Ranges"] = "bytes"
        if request.method == "HEAD":
            return Response(status_code=status, headers=headers)
        body: Iterator[bytes] = diskfile.read_range(state.data, start, end)
        return StreamingResponse(body, status_code=status, headers=headers)

    # -- writes ------------------------------------------------------------------------
    async def put(self, request: Request, path: BackendPath) -> Response:
        timestamp = _timestamp(request)
        length = request.headers.get("content-length")
        expected = int(length) if length is not None and length.isdigit() else None
        meta = _meta_from(request)
        meta.setdefault("Content-Type", "application/octet-stream")
        meta[diskfile.NAME] = _name(path)
        disk = self.disk(path)
        etag = request.headers.get("etag")
        if expected is not None and expected <= BATCH:
            # a small object: its body, then one trip to a worker thread for the disk
            # and the container update (each trip costs as much as writing 4 KiB)
            body = [chunk async for chunk in request.stream()]
            return await self.workers.run(
                self.store, request, path, disk, timestamp, meta, etag, body, expected
            )
        writer = await self.workers.run(disk.writer, timestamp, meta, etag)
        batch: list[bytes] = []
        batched = 0
        try:
            async for chunk in request.stream():
                batch.append(chunk)
                batched += len(chunk)
                if batched >= BATCH:
                    await self.workers.run(writer.write, batch)
                    batch, batched = [], 0
            await self.workers.run(writer.write, batch)
        except BaseException:
            await self.workers.run(writer.abort)
            raise
        return await self.workers.run(self.finish, request, path, disk, writer, expected)

    def store(
        self, request: Request, path: BackendPath, disk: DiskFile, timestamp: str,
        meta: dict[str, str], etag: str | None, body: list[bytes], expected: int,
    ) -> Response:  # fmt: skip
        writer = disk.writer(timestamp, meta, etag)
        try:
            writer.write(body)
        except BaseException:
            writer.abort()
            raise
        return self.finish(request, path, disk, writer, expected)

    def finish(
        self, request: Request, path: BackendPath, disk: DiskFile, writer: diskfile.Writer,
        expected: int | None,
    ) -> Response:  # fmt: skip
        """Commit the data file, then tell the container (or keep an async pending); the
        update is noted as an intent first, so a kill in between cannot lose it."""
        overrides = {
            field: value for key, field in OVERRIDES.items()
            if (value := request.headers.get(f"{OVERRIDE}{key}")) is not None
        }  # fmt: skip
        intent = self.note_intent(request, path, "PUT", overrides,
                                  disk.dir / f"{writer.timestamp}.data")  # fmt: skip
        try:
            stored = writer.commit(expected)
        except BaseException:
            drop_intent(intent)
            raise
        update = {
            "X-Timestamp": writer.timestamp,
            "X-Size": stored["Content-Length"],
            "X-Content-Type": stored["Content-Type"],
            "X-Etag": stored["ETag"],
        }
        update.update(overrides)  # what SLO and symlinks show in listings
        self.update_container(request, path, "PUT", update)
        drop_intent(intent)
        self.queue_expiry(request, path, disk, stored)
        return Response(status_code=201, headers={"ETag": f'"{stored["ETag"]}"'})

    def post(self, request: Request, path: BackendPath) -> Response:
        disk = self.disk(path)
        meta = _meta_from(request)
        meta.pop("Content-Type", None)
        meta[diskfile.NAME] = _name(path)
        state = disk.state()
        if state is not None and state.data is not None and expirer.expired(state.metadata):
            return Response(status_code=404)
        try:
            disk.post(_timestamp(request), meta)
        except NotFound:
            return Response(status_code=404)
        self.queue_expiry(request, path, disk, meta)
        # as Swift's object server: the object's sysmeta (the proxy learns of symlinks)
        assert state is not None
        sysmeta = {k: v for k, v in state.metadata.items() if k.lower().startswith(SYSMETA)}
        return Response(status_code=202, headers=sysmeta)

    def queue_expiry(
        self, request: Request, path: BackendPath, disk: DiskFile, meta: dict[str, str]
    ) -> None:
        """Queue the object for the expirer when it now has an X-Delete-At."""
        value = meta.get("X-Delete-At", "")
        if not value.isdigit():
            return
        expiry = expirer.Expiry(
            int(value), path.partition, disk.dir.name, path.account, path.container, path.obj,
            request.headers.get("x-container-host", ""),
            request.headers.get("x-container-device", ""),
            request.headers.get("x-container-partition", ""),
        )  # fmt: skip
        expirer.enqueue(disk.dev, expiry)

    def delete(self, request: Request, path: BackendPath) -> Response:
        timestamp = _timestamp(request)
        disk = self.disk(path)
        intent = self.note_intent(request, path, "DELETE", {}, disk.dir / f"{timestamp}.ts")
        try:
            previous = disk.delete(timestamp, {diskfile.NAME: _name(path)})
        except BaseException:
            drop_intent(intent)
            raise
        self.update_container(request, path, "DELETE", {"X-Timestamp": timestamp})
        drop_intent(intent)
        found = (
            previous is not None and not previous.deleted
            and not expirer.expired(previous.metadata)
        )  # fmt: skip
        return Response(status_code=204 if found else 404)

    def _update(
        self, request: Request, path: BackendPath, method: str, headers: dict[str, str]
    ) -> ContainerUpdate | None:
        host = request.headers.get("x-container-host")
        device = request.headers.get("x-container-device")
        part = request.headers.get("x-container-partition")
        if not (host and device and part):
            return None
        return ContainerUpdate(
            host, device, part, method, path.account, path.container, path.obj, headers
        )

    def update_container(
        self, request: Request, path: BackendPath, method: str, headers: dict[str, str]
    ) -> None:
        update = self._update(request, path, method, headers)
        if update is not None:
            update_container(device_path(self.devices, path.device), update)

    def note_intent(
        self, request: Request, path: BackendPath, method: str, overrides: dict[str, str],
        written: Path,
    ) -> Intent | None:  # fmt: skip
        update = self._update(request, path, method, overrides)
        if update is None:
            return None
        return note_intent(device_path(self.devices, path.device), update, written)


def _whole_wanted(request: Request, metadata: dict[str, str]) -> bool:
    """Swift's ``X-Backend-Ignore-Range-If-Metadata-Present``: when the object has one
    of the named metadata (a large object manifest, a symlink), answer the whole object
    unconditionally; the proxy applies range and conditions to what it stands for."""
    named = request.headers.get(IGNORE_RANGE)
    if not named:
        return False
    present = {k.lower() for k in metadata}
    return any(n.strip().lower() in present for n in named.split(","))


def _since(header: str | None) -> float | None:
    """An HTTP date as epoch seconds rounded up (Last-Modified is), or None."""
    if not header:
        return None
    try:
        return email.utils.parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return None


def _etag_in(etag: str, header: str) -> bool:
    tags = {t.strip().strip('"') for t in header.split(",")}
    return "*" in tags or etag in tags


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """A single byte range as (start, end exclusive); None: the whole object. Several
    ranges are answered with the whole object (allowed by RFC 9110)."""
    if not header:
        return None
    match = _RANGE.match(header.replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":
        count = int(last)
        if count == 0:
            raise RangeError()
        return max(0, size - count), size
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if start >= size or (last and int(last) < start):
        if last and int(last) < start:
            return None
        raise RangeError()
    return start, end


class RangeError(Exception):
    """416: no byte of the range is in the object."""


def create_app(devices: Path, hash_suffix: str) -> Starlette:
    server = ObjectServer(devices, hash_suffix)

    async def handle(request: Request, path: BackendPath) -> Response:
        try:
            return await server.handle(request, path)
        except RangeError:
            return Response(status_code=416)

    return make_app("object", handle)
