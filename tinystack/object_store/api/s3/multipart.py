"""Multipart upload handlers: create, upload part (or copy one), list parts, complete,
abort, list uploads."""

from __future__ import annotations

from starlette.responses import Response

from tinystack.object_store.api.s3 import documents
from tinystack.object_store.api.s3.call import S3Call
from tinystack.object_store.api.s3.documents import Node
from tinystack.object_store.api.s3.objects import (
    copy_conditions,
    copy_source,
    reader,
    receive,
    swift_metadata,
    written_headers,
)  # fmt: skip
from tinystack.object_store.api.s3.replies import run, xml
from tinystack.object_store.services.s3 import multipart
from tinystack.object_store.services.s3.errors import S3Error

MAX_PARTS_LISTED = 1000


def _upload_id(call: S3Call) -> str:
    return call.param("uploadId") or ""


def _owner(call: S3Call) -> list[Node]:
    return [("ID", call.owner), ("DisplayName", call.owner)]


async def create_upload(call: S3Call) -> Response:
    upload_id = await run(multipart.initiate, call.deps, call.account, call.bucket, call.key,
                          swift_metadata(call))  # fmt: skip
    return xml(
        documents.document(
            "InitiateMultipartUploadResult",
            [("Bucket", call.bucket), ("Key", call.key), ("UploadId", upload_id)],
        )
    )


async def upload_part(call: S3Call) -> Response:
    number = call.param("partNumber") or ""
    if call.header("x-amz-copy-source") is not None:
        written = await run(
            multipart.copy_part, call.deps, call.account, call.bucket, call.key, _upload_id(call),
            number, *copy_source(call), copy_conditions(call),
            call.header("x-amz-copy-source-range"),
        )  # fmt: skip
        return xml(documents.document("CopyPartResult", [
            ("LastModified", documents.iso(written.last_modified)),
            ("ETag", f'"{written.etag}"')]))  # fmt: skip
    body, length = reader(call)
    upload = await run(multipart.begin_part, call.deps, call.account, call.bucket, call.key,
                       _upload_id(call), number, body, length)  # fmt: skip
    written = await receive(call, upload)
    return Response(status_code=200, headers=written_headers(written))


def _int_param(call: S3Call, name: str, default: int) -> int:
    text = call.param(name)
    if text is None:
        return default
    if not text.isdigit():
        raise S3Error("InvalidArgument", f"Provided {name} not an integer or within integer "
                      "range", ArgumentName=name, ArgumentValue=text)  # fmt: skip
    return int(text)


async def list_parts(call: S3Call) -> Response:
    max_parts = min(_int_param(call, "max-parts", MAX_PARTS_LISTED), MAX_PARTS_LISTED)
    after = _int_param(call, "part-number-marker", 0)
    parts = await run(multipart.list_parts, call.deps, call.account, call.bucket, call.key,
                      _upload_id(call))  # fmt: skip
    later = [p for p in parts if p.number > after]
    page = later[:max_parts]
    head: list[Node] = [
        ("Bucket", call.bucket), ("Key", call.key), ("UploadId", _upload_id(call)),
        ("Initiator", _owner(call)), ("Owner", _owner(call)), ("StorageClass", "STANDARD"),
        ("PartNumberMarker", after),
        ("NextPartNumberMarker", page[-1].number if page else after),
        ("MaxParts", max_parts), ("IsTruncated", len(later) > max_parts),
    ]  # fmt: skip
    head += [("Part", [("PartNumber", p.number), ("LastModified", documents.iso(p.last_modified)),
                       ("ETag", f'"{p.etag}"'), ("Size", p.size)]) for p in page]  # fmt: skip
    return xml(documents.document("ListPartsResult", head))


async def complete_upload(call: S3Call) -> Response:
    body = await call.request.body()
    if len(body) > documents.MAX_BODY:
        raise S3Error("MalformedXML")
    request = documents.parse(body, "CompleteMultipartUpload")
    wanted = []
    for part in documents.children(request, "Part"):
        number, etag = documents.text(part, "PartNumber"), documents.text(part, "ETag")
        if number is None or not number.isdigit() or etag is None:
            raise S3Error("MalformedXML")
        wanted.append((int(number), etag))
    etag = await run(multipart.complete, call.deps, call.account, call.bucket, call.key,
                     _upload_id(call), wanted)  # fmt: skip
    location = f"{call.request.url.scheme}://{call.request.headers.get('host', '')}{call.resource}"
    return xml(documents.document("CompleteMultipartUploadResult", [
        ("Location", location), ("Bucket", call.bucket), ("Key", call.key),
        ("ETag", f'"{etag}"')]))  # fmt: skip


async def abort_upload(call: S3Call) -> Response:
    await run(multipart.abort, call.deps, call.account, call.bucket, call.key, _upload_id(call))
    return Response(status_code=204)


async def list_uploads(call: S3Call) -> Response:
    max_uploads = min(_int_param(call, "max-uploads", MAX_PARTS_LISTED), MAX_PARTS_LISTED)
    prefix = call.param("prefix") or ""
    key_marker, id_marker = call.param("key-marker") or "", call.param("upload-id-marker") or ""
    uploads, truncated = await run(multipart.list_uploads, call.deps, call.account, call.bucket,
                                   prefix, key_marker, id_marker, max_uploads)  # fmt: skip
    head: list[Node] = [
        ("Bucket", call.bucket), ("KeyMarker", key_marker), ("UploadIdMarker", id_marker),
        ("NextKeyMarker", uploads[-1].key if uploads else ""),
        ("NextUploadIdMarker", uploads[-1].upload_id if uploads else ""),
        ("Prefix", prefix), ("MaxUploads", max_uploads), ("IsTruncated", truncated),
    ]  # fmt: skip
    head += [("Upload", [("Key", u.key), ("UploadId", u.upload_id), ("Initiator", _owner(call)),
                         ("Owner", _owner(call)), ("StorageClass", "STANDARD"),
                         ("Initiated", documents.iso(u.initiated))]) for u in uploads]  # fmt: skip
    return xml(documents.document("ListMultipartUploadsResult", head))
