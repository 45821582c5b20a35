"""What the object handlers hand over to the features that change what an object request
means (each a hook of a few lines in api/objects.py): large objects (SLO
``?multipart-manifest=put|get|delete``, DLO ``X-Object-Manifest``), symlinks
(``X-Symlink-Target``, ``?symlink=get``) and ``?extract-archive`` below a container.
The work is in services/large_objects.py, slo_manifests.py, symlinks.py and bulk.py."""

from __future__ import annotations

import mimetypes

import anyio
from starlette.requests import Request
from starlette.responses import Response

from tinystack.object_store.api import bulk, headers
from tinystack.object_store.api.deps import READ, WRITE, Access, authorize_account
from tinystack.object_store.api.replies import respond
from tinystack.object_store.exception import LengthRequired
from tinystack.object_store.services import (
    large_objects,
    slo_manifests,
    symlinks,
    versioning,
)
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.large_objects import Authorize, ReadOptions
from tinystack.object_store.services.objects import ObjectPath
from tinystack.object_store.services.reads import Refused
from tinystack.object_store.services.records import Reply

RESERVED_SLO = ("X-Static-Large-Object is a reserved header. To create a static large "
                "object add query param multipart-manifest=put.")  # fmt: skip


def authorizer(request: Request, deps: Deps, account: str, access: Access, kind: str) -> Authorize:
    """The check of each other container a request reaches (segments, link targets)."""

    def check(other_account: str, container: str) -> None:
        if access.owner and other_account == account:
            return
        authorize_account(request, deps, other_account, container, kind)

    return check


def read_options(request: Request, deps: Deps, path: ObjectPath, access: Access) -> ReadOptions:
    q = request.query_params
    manifest = q.get("multipart-manifest") == "get"
    return ReadOptions(
        manifest=manifest, raw=manifest and q.get("format") == "raw",
        link=q.get("symlink") == "get",
        authorize=authorizer(request, deps, path.account, access, READ),
    )  # fmt: skip


def read(
    request: Request, deps: Deps, path: ObjectPath, conditions: dict[str, str], method: str,
    access: Access,
) -> Reply:  # fmt: skip
    """GET or HEAD: links followed and large objects expanded (unless asked not to)."""
    options = read_options(request, deps, path, access)
    return large_objects.get(deps, path, conditions, method, options)


def _check_manifest_header(request: Request) -> None:
    value = request.headers.get("x-object-manifest")
    if value is None:
        return
    container, _, prefix = value.partition("/")
    if not container or not prefix or "?" in value or "&" in value or prefix.startswith("/"):
        raise Refused(400, "X-Object-Manifest must be in the format container/prefix")


async def put(request: Request, deps: Deps, path: ObjectPath, access: Access) -> Response | None:
    """A PUT that is no plain upload, answered here; None: let the handler store it."""
    q = request.query_params
    if "extract-archive" in q:
        return await bulk.extract(request, deps, path.account, f"{path.container}/{path.obj}")
    if q.get("multipart-manifest") == "put":
        return await _put_manifest(request, deps, path, access)
    if "x-static-large-object" in request.headers:
        raise Refused(400, RESERVED_SLO)
    _check_manifest_header(request)
    if "x-symlink-target" in request.headers:
        return await _put_link(request, deps, path, access)
    return None


async def _body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length")
    if length is None and "chunked" not in request.headers.get("transfer-encoding", "").lower():
        raise LengthRequired("Length Required")
    if length is not None and length.isdigit() and int(length) > limit:
        raise Refused(413, f"Manifest File > {limit} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Refused(413, f"Manifest File > {limit} bytes")
    return body


async def _put_manifest(request: Request, deps: Deps, path: ObjectPath, access: Access) -> Response:
    if request.headers.get("x-copy-from"):
        raise Refused(405, "Multipart Manifest PUTs cannot be COPY requests")
    body = await _body(request, large_objects.MAX_MANIFEST_SIZE)
    meta = headers.metadata(request, "object")
    headers.expiry(request, meta)
    if not meta.get("Content-Type"):
        meta["Content-Type"] = _guess(path.obj)
    check = authorizer(request, deps, path.account, access, READ)
    reply, problems = await anyio.to_thread.run_sync(
        slo_manifests.put, deps, path, body, meta, request.headers.get("etag"), check
    )
    if problems:
        fmt = bulk.wanted_format(request) or "text/plain"
        content = bulk.render(fmt, {}, problems, "upload")
        return Response(content, status_code=400, media_type=fmt)
    return respond(reply)


def _guess(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


async def _put_link(request: Request, deps: Deps, path: ObjectPath, access: Access) -> Response:
    length = request.headers.get("content-length")
    if length is not None and length != "0":
        raise Refused(400, "Symlink requests require a zero byte body")
    if length is None:
        async for chunk in request.stream():
            if chunk:
                raise Refused(400, "Symlink requests require a zero byte body")
    meta = headers.metadata(request, "object")
    headers.expiry(request, meta)
    reply = await anyio.to_thread.run_sync(
        symlinks.create, deps, path, request.headers["x-symlink-target"],
        request.headers.get("x-symlink-target-account"),
        request.headers.get("x-symlink-target-etag"), meta,
        request.headers.get("if-none-match"),
        authorizer(request, deps, path.account, access, READ),
    )  # fmt: skip
    return respond(reply)


def post(deps: Deps, path: ObjectPath, request: Request, meta: dict[str, str]) -> Response:
    """POST: metadata; a link answers 307 (the POST applied to the link itself)."""
    if "x-symlink-target" in request.headers:
        raise Refused(400, "A PUT request is required to set a symlink target")
    if "x-static-large-object" in request.headers:
        raise Refused(400, RESERVED_SLO)
    _check_manifest_header(request)
    return respond(symlinks.post(deps, path, meta))


def delete(request: Request, deps: Deps, path: ObjectPath, access: Access) -> Response | None:
    """``?multipart-manifest=delete``: the segments, then the manifest (answered as bulk
    delete answers); None: an ordinary DELETE."""
    if request.query_params.get("multipart-manifest") != "delete":
        return None
    fmt = bulk.wanted_format(request)
    if fmt is None:
        return Response(status_code=406)
    check = authorizer(request, deps, path.account, access, WRITE)
    result = slo_manifests.delete(deps, path, lambda container: check(path.account, container))
    return bulk.result_response(fmt, result, "delete")


def copy(
    request: Request, deps: Deps, source: ObjectPath, dest: ObjectPath, meta: dict[str, str],
    fresh: bool, access: Access, version_id: str | None,
) -> Response:  # fmt: skip
    """COPY and X-Copy-From: a large object or a link is copied as what it stands for;
    with ``?multipart-manifest=get`` a manifest is copied as a manifest; ``version_id``
    copies that version of the source (services/versioning.py keeps what the copy
    replaces at the destination)."""
    options = read_options(request, deps, source, access)
    if options.link:  # ?symlink=get: a copy of the link itself, if it is one
        link = large_objects.get(deps, source, {}, "HEAD", options)
        shown = {k.lower(): v for k, v in link.headers.items()}
        if link.status < 300 and "x-symlink-target" in shown:
            kept = {"Content-Type": shown.get("content-type", "application/symlink"), **meta}
            return respond(symlinks.create(
                deps, dest, shown["x-symlink-target"], shown.get("x-symlink-target-account"),
                shown.get("x-symlink-target-etag"), kept, None, options.authorize,
            ))  # fmt: skip
    if options.manifest:
        raw = ReadOptions(manifest=True, raw=True, authorize=options.authorize)
        found = large_objects.get(deps, source, {}, "GET", raw)
        found_headers = {k.lower(): v for k, v in found.headers.items()}
        if found.status < 300 and found_headers.get("x-static-large-object") == "True":
            if not meta.get("Content-Type"):
                meta["Content-Type"] = found_headers.get("content-type", _guess(dest.obj))
            reply, problems = slo_manifests.put(
                deps, dest, found.body, meta, None, options.authorize
            )
            if problems:
                fmt = bulk.wanted_format(request) or "text/plain"
                content = bulk.render(fmt, {}, problems, "upload")
                return Response(content, status_code=400, media_type=fmt)
            return respond(reply)
        if found.stream is not None:
            found.stream.close()  # type: ignore[attr-defined]
        if "x-object-manifest" in found_headers:
            meta["X-Object-Manifest"] = found_headers["x-object-manifest"]

    def reader(path: ObjectPath) -> Reply:
        return large_objects.get(deps, path, {}, "GET", options)

    return respond(versioning.copy(deps, source, version_id, dest, meta, fresh, reader))
