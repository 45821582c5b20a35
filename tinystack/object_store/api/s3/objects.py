"""Object handlers: PUT (streamed, checked, or a server-side copy), GET and HEAD (ranges,
conditions, response-* overrides), DELETE, and the object ACL (its bucket's)."""

from __future__ import annotations

import urllib.parse

from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from tinystack.object_store.api.s3 import acl, documents
from tinystack.object_store.api.s3.call import S3Call
from tinystack.object_store.api.s3.replies import object_headers, run, xml
from tinystack.object_store.services.objects import ObjectPath
from tinystack.object_store.services.s3 import buckets, checksums, signing
from tinystack.object_store.services.s3 import objects as s3objects
from tinystack.object_store.services.s3.body import BodyChecks, BodyReader
from tinystack.object_store.services.s3.errors import S3Error
from tinystack.object_store.services.s3.objects import Conditions, NotModified
from tinystack.object_store.services.s3.records import ObjectHead, Written

BATCH = 1024 * 1024
MAX_USER_METADATA = 2048
#: object ACLs that say no more than the bucket's (Swift has no per-object ACLs)
OBJECT_CANNED = ("private", "bucket-owner-read", "bucket-owner-full-control")
OVERRIDES = ("content-type", "content-language", "expires", "cache-control",
             "content-disposition", "content-encoding")  # fmt: skip


# -- uploads --------------------------------------------------------------------------------
def body_checks(call: S3Call) -> tuple[BodyChecks, int | None]:
    """What the request promises of its body, and the object's length when known."""
    encoding = call.header("content-encoding") or ""
    payload_hash = call.signed.payload_hash if call.signed and call.signed.version == 4 \
        else signing.UNSIGNED  # fmt: skip
    chunked = "aws-chunked" in encoding or payload_hash.startswith("STREAMING-")
    declared = call.header("x-amz-decoded-content-length") if chunked else \
        call.header("content-length")  # fmt: skip
    if declared is not None and not declared.isdigit():
        raise S3Error("InvalidArgument", "The length is not a number")
    if declared is None and not chunked and "chunked" not in (
            call.header("transfer-encoding") or ""):  # fmt: skip
        raise S3Error("MissingContentLength")
    sums = {name: value for name in checksums.ALGORITHMS
            if (value := call.header(f"x-amz-checksum-{name}")) is not None}  # fmt: skip
    length = int(declared) if declared is not None else None
    return BodyChecks(call.header("content-md5"), payload_hash, sums,
                      call.header("x-amz-trailer") or "", chunked, length), length  # fmt: skip


def reader(call: S3Call) -> tuple[BodyReader, int | None]:
    checks, length = body_checks(call)
    secret = call.identity.secret if call.identity else ""
    return BodyReader(checks, call.signed, secret), length


async def receive(call: S3Call, upload: s3objects.ObjectUpload) -> Written:
    """The request's body into ``upload``; committed once every check passed."""
    batch: list[bytes] = []
    batched = 0
    try:
        async for chunk in call.request.stream():
            batch.append(chunk)
            batched += len(chunk)
            if batched >= BATCH:
                await run(upload.write, batch)
                batch, batched = [], 0
        await run(upload.write, batch)
    except ClientDisconnect:
        await run(upload.abort)
        raise S3Error("IncompleteBody") from None
    except BaseException:
        await run(upload.abort)
        raise
    return await run(upload.commit)


def written_headers(written: Written) -> dict[str, str]:
    headers = {"ETag": f'"{written.etag}"'}
    if written.version_id:
        headers["x-amz-version-id"] = written.version_id
    headers.update({f"x-amz-checksum-{k}": v for k, v in written.checksums.items()})
    return headers


def user_metadata(call: S3Call) -> dict[str, str]:
    found = {k[len("x-amz-meta-"):]: v for k, v in call.request.headers.items()
             if k.startswith("x-amz-meta-") and len(k) > len("x-amz-meta-")}  # fmt: skip
    if sum(len(k) + len(v) for k, v in found.items()) > MAX_USER_METADATA:
        raise S3Error("MetadataTooLarge", MaxSizeAllowed=str(MAX_USER_METADATA))
    return found


def swift_metadata(call: S3Call) -> dict[str, str]:
    headers = {}
    encoding = ",".join(e.strip() for e in (call.header("content-encoding") or "").split(",")
                        if e.strip() and e.strip() != "aws-chunked")  # fmt: skip
    if encoding:
        headers["content-encoding"] = encoding
    if call.header("content-disposition"):
        headers["content-disposition"] = call.header("content-disposition") or ""
    return s3objects.swift_metadata(call.header("content-type") or "", user_metadata(call),
                                    headers)  # fmt: skip


def _object_acl_header(call: S3Call) -> None:
    canned = call.header("x-amz-acl")
    if canned is not None and canned not in OBJECT_CANNED:
        raise S3Error("NotImplemented", "Objects share their bucket's ACL (Swift container "
                      "ACLs); set it on the bucket")  # fmt: skip


async def put_object(call: S3Call) -> Response:
    _object_acl_header(call)
    if call.header("x-amz-copy-source") is not None:
        return await copy_object(call)
    body, length = reader(call)
    upload = await run(s3objects.ObjectUpload, call.deps, call.path, swift_metadata(call), body,
                       length)  # fmt: skip
    written = await receive(call, upload)
    return Response(status_code=200, headers=written_headers(written))


# -- copies ---------------------------------------------------------------------------------
def copy_source(call: S3Call) -> tuple[ObjectPath, str | None]:
    """The copy's source and the version named (None: the current one)."""
    value, _, query = (call.header("x-amz-copy-source") or "").partition("?")
    value = urllib.parse.unquote(value)
    version = urllib.parse.parse_qs(query).get("versionId", [None])[0]
    bucket, _, key = value.lstrip("/").partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: "
                      "sourcebucket/sourcekey", ArgumentName="x-amz-copy-source")  # fmt: skip
    return ObjectPath(call.account, bucket, key), version


def copy_conditions(call: S3Call) -> Conditions:
    h = call.header
    return Conditions(h("x-amz-copy-source-if-match"), h("x-amz-copy-source-if-none-match"),
                      h("x-amz-copy-source-if-modified-since"),
                      h("x-amz-copy-source-if-unmodified-since"))  # fmt: skip


async def copy_object(call: S3Call) -> Response:
    source, version = copy_source(call)
    directive = (call.header("x-amz-metadata-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown metadata directive.",
                      ArgumentName="x-amz-metadata-directive")  # fmt: skip
    if source == call.path and directive == "COPY" and version is None:
        raise S3Error(
            "InvalidRequest",
            "This copy request is illegal because it is trying to "
            "copy an object to itself without changing the object's metadata, "
            "storage class, website redirect location or encryption attributes.",
        )
    await run(buckets.require, call.deps, call.account, call.bucket)
    replaced = swift_metadata(call) if directive == "REPLACE" else None
    try:
        written = await run(s3objects.copy, call.deps, source, call.path, copy_conditions(call),
                            replaced, version)  # fmt: skip
    except NotModified:
        raise S3Error("PreconditionFailed", Condition="x-amz-copy-source-If-None-Match") \
            from None  # fmt: skip
    result = documents.document(
        "CopyObjectResult",
        [("LastModified", documents.iso(written.last_modified)), ("ETag", f'"{written.etag}"')],
    )
    headers = {"x-amz-version-id": written.version_id} if written.version_id else {}
    if version is not None:
        headers["x-amz-copy-source-version-id"] = version
    return xml(result, headers=headers)


# -- reads ------------------------------------------------------------------------------------
def conditions(call: S3Call) -> Conditions:
    h = call.header
    return Conditions(h("if-match"), h("if-none-match"), h("if-modified-since"),
                      h("if-unmodified-since"))  # fmt: skip


def _headers(call: S3Call, head: ObjectHead) -> dict[str, str]:
    headers = object_headers(head)
    for name in OVERRIDES:
        value = call.param(f"response-{name}")
        if value is not None:
            headers[name.title()] = value
    return headers


def _not_modified(found: NotModified) -> Response:
    headers = object_headers(found.head)
    return Response(status_code=304, headers={k: headers[k] for k in ("ETag", "Last-Modified")})


async def get_object(call: S3Call) -> Response:
    try:
        body = await run(s3objects.get, call.deps, call.path, conditions(call),
                         call.header("range"), call.param("versionId"))  # fmt: skip
    except NotModified as found:
        return _not_modified(found)
    headers = {**_headers(call, body.head), "Content-Length": str(body.length)}
    if body.content_range:
        headers["Content-Range"] = body.content_range
    return StreamingResponse(body.stream, status_code=body.status, headers=headers)


async def head_object(call: S3Call) -> Response:
    try:
        head = await run(s3objects.head, call.deps, call.path, conditions(call),
                         call.param("versionId"))  # fmt: skip
    except NotModified as found:
        return _not_modified(found)
    headers = {**_headers(call, head), "Content-Length": str(head.size)}
    return Response(status_code=200, headers=headers)


async def delete_object(call: S3Call) -> Response:
    done = await run(s3objects.delete, call.deps, call.path, call.param("versionId"))
    headers = {"x-amz-version-id": done.version_id} if done.version_id else {}
    if done.delete_marker:
        headers["x-amz-delete-marker"] = "true"
    return Response(status_code=204, headers=headers)


async def get_object_acl(call: S3Call) -> Response:
    await run(s3objects.head, call.deps, call.path)
    found = await run(buckets.grants, call.deps, call.account, call.bucket, call.owner)
    return xml(acl.render(found))


async def put_object_acl(call: S3Call) -> Response:
    wanted = acl.wanted(call, await call.request.body())
    await run(s3objects.head, call.deps, call.path)
    found = await run(buckets.grants, call.deps, call.account, call.bucket, call.owner)
    if wanted != found and (wanted.public_read or wanted.authenticated_read):
        raise S3Error("NotImplemented", "Objects share their bucket's ACL (Swift container "
                      "ACLs); set it on the bucket")  # fmt: skip
    return Response(status_code=200)
