"""S3 answers: XML documents, object headers (ETag in quotes, ``x-amz-meta-*``), and
errors as S3 renders them."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from typing import TypeVar

import anyio
from starlette.responses import Response

from tinystack.object_store.api.s3 import documents
from tinystack.object_store.api.s3.call import S3Call
from tinystack.object_store.services.s3.errors import S3Error
from tinystack.object_store.services.s3.records import ObjectHead

T = TypeVar("T")
XML = "application/xml"
#: an S3 error for what the Swift service layer raised (by status)
FROM_STATUS = {400: "InvalidArgument", 403: "AccessDenied", 405: "MethodNotAllowed",
               409: "OperationAborted", 411: "MissingContentLength", 412: "PreconditionFailed",
               413: "EntityTooLarge", 416: "InvalidRange", 422: "BadDigest",
               503: "ServiceUnavailable", 507: "ServiceUnavailable"}  # fmt: skip


async def run(fn: Callable[..., T], *args: object) -> T:
    """A service-layer call, off the event loop."""
    return await anyio.to_thread.run_sync(fn, *args)


def xml(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, headers=headers, media_type=XML)


def http_date(when: float) -> str:
    return email.utils.formatdate(int(when), usegmt=True)


def object_headers(head: ObjectHead) -> dict[str, str]:
    headers = {
        "ETag": f'"{head.etag}"',
        "Last-Modified": http_date(head.last_modified),
        "Content-Type": head.content_type,
        "Accept-Ranges": "bytes",
        **head.headers,
    }
    headers.update({f"x-amz-meta-{k}": v for k, v in head.metadata.items()})
    if head.parts:
        headers["x-amz-mp-parts-count"] = str(head.parts)
    if head.version_id:
        headers["x-amz-version-id"] = head.version_id
    return headers


def error(call: S3Call, exc: S3Error) -> Response:
    body = documents.error(exc.code, exc.message, call.resource, call.request_id, exc.extra)
    if call.request.method == "HEAD":
        return Response(status_code=exc.status, headers={"Content-Type": XML})
    return xml(body, exc.status)


def from_status(call: S3Call, status: int) -> S3Error:
    if status == 404:
        if call.key:
            return S3Error("NoSuchKey", Key=call.key)
        return S3Error("NoSuchBucket", BucketName=call.bucket)
    return S3Error(FROM_STATUS.get(status, "InternalError"))
