"""Object handlers: PUT (streamed, or a copy with X-Copy-From), GET and HEAD (ranges and
conditions), POST (metadata), DELETE, COPY (Destination)."""

from __future__ import annotations

import mimetypes
import urllib.parse

import anyio
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from tinystack.common.exceptions import BadRequest, PreconditionFailed
from tinystack.object_store.api import headers, hooks, versions
from tinystack.object_store.api.deps import READ, WRITE, Access, DepsDep, authorize_account
from tinystack.object_store.api.replies import respond
from tinystack.object_store.exception import LengthRequired
from tinystack.object_store.services import objects, versioning
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.objects import ObjectPath
from tinystack.object_store.services.records import Reply

BATCH = 1024 * 1024
CONDITIONS = ("range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since")


def _path(account: str, container: str, obj: str) -> ObjectPath:
    headers.check_container(container)
    headers.check_object(obj)
    return ObjectPath(account, container, obj)


def _metadata(request: Request, obj: str) -> dict[str, str]:
    meta = headers.metadata(request, "object")
    headers.expiry(request, meta)
    if not meta.get("Content-Type"):
        guessed, _ = mimetypes.guess_type(obj)
        meta["Content-Type"] = guessed or "application/octet-stream"
    return meta


def _source(header: str, account: str) -> ObjectPath:
    """``container/object`` (URL-quoted, an optional leading slash) of a copy."""
    value = urllib.parse.unquote(header).lstrip("/")
    container, _, obj = value.partition("/")
    if not container or not obj:
        raise PreconditionFailed(
            "X-Copy-From header must be of the form <container name>/<object name>"
        )
    return _path(account, container, obj)


def _size(request: Request) -> int | None:
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise BadRequest("Invalid Content-Length")
        return int(length)
    if "chunked" in request.headers.get("transfer-encoding", "").lower():
        return None
    raise LengthRequired("Length Required")


async def put_object(
    account: str, container: str, obj: str, request: Request, deps: DepsDep
) -> Response:
    # the ACL check may ask a container server: never block the event loop
    access = await anyio.to_thread.run_sync(
        authorize_account, request, deps, account, container, WRITE
    )
    path = _path(account, container, obj)
    if (special := await hooks.put(request, deps, path, access)) is not None:
        return special  # SLO manifest, symlink, extract-archive
    size = _size(request)
    meta = headers.metadata(request, "object")
    if (version_id := versions.version_id(request)) is not None:
        if size:
            raise BadRequest("PUT version-id requests require a zero byte body")
        return respond(await anyio.to_thread.run_sync(versioning.restore, deps, path, version_id))
    copy_from = request.headers.get("x-copy-from")
    if copy_from is not None:
        if size:
            raise BadRequest("Copy requests require a zero byte body")
        source = _source(copy_from, account)
        await anyio.to_thread.run_sync(
            authorize_account, request, deps, account, source.container, READ
        )
        fresh = request.headers.get("x-fresh-metadata", "").lower() in ("true", "1", "yes")
        return await anyio.to_thread.run_sync(
            hooks.copy, request, deps, source, path, meta, fresh, access, None
        )
    plan = await anyio.to_thread.run_sync(
        versioning.before_put, deps, path, _metadata(request, obj)
    )
    upload = await anyio.to_thread.run_sync(
        objects.begin_put, deps, path, plan.metadata, size, request.headers.get("etag"),
        request.headers.get("if-none-match"),
    )  # fmt: skip
    batch: list[bytes] = []
    batched = 0
    try:
        async for chunk in request.stream():
            batch.append(chunk)
            batched += len(chunk)
            if batched >= BATCH:
                await anyio.to_thread.run_sync(upload.write, batch)
                batch, batched = [], 0
        await anyio.to_thread.run_sync(upload.write, batch)
    except ClientDisconnect:
        await anyio.to_thread.run_sync(upload.abort)
        return Response(status_code=499)
    except BaseException:
        await anyio.to_thread.run_sync(upload.abort)
        raise
    return respond(plan.with_headers(await anyio.to_thread.run_sync(upload.commit)))


def _conditions(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.headers.items() if k in CONDITIONS}


def _read(request: Request, deps: Deps, path: ObjectPath, method: str, access: Access) -> Response:
    """GET or HEAD: a version with ``?version-id=``, else what the object stands for
    (links followed, large objects expanded) with its version id when versioned."""
    conditions = _conditions(request)

    def plain() -> Reply:
        return hooks.read(request, deps, path, conditions, method, access)

    return respond(versions.read(request, deps, path, conditions, method, plain))


def get_object(account: str, container: str, obj: str, request: Request, deps: DepsDep) -> Response:
    access = authorize_account(request, deps, account, container, READ)
    path = _path(account, container, obj)
    return _read(request, deps, path, "GET", access)


def head_object(
    account: str, container: str, obj: str, request: Request, deps: DepsDep
) -> Response:
    access = authorize_account(request, deps, account, container, READ)
    path = _path(account, container, obj)
    return _read(request, deps, path, "HEAD", access)


def post_object(
    account: str, container: str, obj: str, request: Request, deps: DepsDep
) -> Response:
    authorize_account(request, deps, account, container, WRITE)
    versions.refuse_post(request)
    meta = headers.metadata(request, "object")
    headers.expiry(request, meta)
    return hooks.post(deps, _path(account, container, obj), request, meta)


def delete_object(
    account: str, container: str, obj: str, request: Request, deps: DepsDep
) -> Response:
    access = authorize_account(request, deps, account, container, WRITE)
    path = _path(account, container, obj)
    if (special := hooks.delete(request, deps, path, access)) is not None:
        return special  # ?multipart-manifest=delete
    return respond(versions.delete(request, deps, path))


def copy_object(
    account: str, container: str, obj: str, request: Request, deps: DepsDep
) -> Response:
    access = authorize_account(request, deps, account, container, READ)
    source = _path(account, container, obj)
    destination = request.headers.get("destination")
    if not destination:
        raise PreconditionFailed("Destination header required")
    if request.headers.get("destination-account", account) != account:
        raise PreconditionFailed("Destination-Account must be the source account")
    dest = _source(destination, account)
    authorize_account(request, deps, account, dest.container, WRITE)
    meta = headers.metadata(request, "object")
    fresh = request.headers.get("x-fresh-metadata", "").lower() in ("true", "1", "yes")
    version_id = versions.version_id(request)
    return hooks.copy(request, deps, source, dest, meta, fresh, access, version_id)
