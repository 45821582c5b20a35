"""THE operation table of the S3 API: every operation on one line (method, what the path
addresses, the sub-resource of the query, handler). S3 routes by query sub-resource, so
this table is looked up by ``find`` rather than by a path router."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.responses import Response

from tinystack.object_store.api.s3 import buckets, multipart, objects
from tinystack.object_store.api.s3.call import S3Call
from tinystack.object_store.services.s3.errors import S3Error

Handler = Callable[[S3Call], Awaitable[Response]]
SERVICE, BUCKET, OBJECT = "service", "bucket", "object"
#: query parameters that name a sub-resource, the first one present wins
SUBRESOURCES = ("uploadId", "uploads", "acl", "location", "versioning", "versions", "delete",
                "policy", "tagging", "cors", "lifecycle", "website", "logging", "notification",
                "replication", "encryption", "object-lock", "accelerate", "requestPayment",
                "restore", "select", "torrent", "retention", "legal-hold", "attributes",
                "ownershipControls", "publicAccessBlock", "intelligent-tiering", "inventory",
                "metrics", "analytics")  # fmt: skip

OPERATIONS: list[tuple[str, str, str, Handler]] = [
    ("GET",    SERVICE, "",           buckets.list_buckets),
    ("PUT",    BUCKET,  "",           buckets.create_bucket),
    ("HEAD",   BUCKET,  "",           buckets.head_bucket),
    ("DELETE", BUCKET,  "",           buckets.delete_bucket),
    ("GET",    BUCKET,  "",           buckets.list_objects),
    ("GET",    BUCKET,  "location",   buckets.get_location),
    ("GET",    BUCKET,  "versioning", buckets.get_versioning),
    ("PUT",    BUCKET,  "versioning", buckets.put_versioning),
    ("GET",    BUCKET,  "acl",        buckets.get_bucket_acl),
    ("PUT",    BUCKET,  "acl",        buckets.put_bucket_acl),
    ("GET",    BUCKET,  "versions",   buckets.list_versions),
    ("POST",   BUCKET,  "delete",     buckets.delete_objects),
    ("GET",    BUCKET,  "uploads",    multipart.list_uploads),
    ("PUT",    OBJECT,  "",           objects.put_object),
    ("GET",    OBJECT,  "",           objects.get_object),
    ("HEAD",   OBJECT,  "",           objects.head_object),
    ("DELETE", OBJECT,  "",           objects.delete_object),
    ("GET",    OBJECT,  "acl",        objects.get_object_acl),
    ("PUT",    OBJECT,  "acl",        objects.put_object_acl),
    ("POST",   OBJECT,  "uploads",    multipart.create_upload),
    ("PUT",    OBJECT,  "uploadId",   multipart.upload_part),
    ("GET",    OBJECT,  "uploadId",   multipart.list_parts),
    ("POST",   OBJECT,  "uploadId",   multipart.complete_upload),
    ("DELETE", OBJECT,  "uploadId",   multipart.abort_upload),
]  # fmt: skip
TABLE = {(method, level, sub): handler for method, level, sub, handler in OPERATIONS}


def find(call: S3Call) -> Handler:
    level = OBJECT if call.key else BUCKET if call.bucket else SERVICE
    names = {name for name, _ in call.facts.query}
    sub = next((s for s in SUBRESOURCES if s in names), "")
    handler = TABLE.get((call.request.method, level, sub))
    if handler is not None:
        return handler
    if sub and any(s == sub for _, _, s, _ in OPERATIONS):
        raise S3Error("MethodNotAllowed", Method=call.request.method, ResourceType=level.upper())
    if sub:
        raise S3Error("NotImplemented", f"The {sub} sub-resource is not implemented")
    raise S3Error("MethodNotAllowed", Method=call.request.method, ResourceType=level.upper())
