"""S3 objects over Swift objects: PUT (the body checked by ``body.BodyReader`` before the
replicas commit it), GET and HEAD (ranges and If-* conditions, multipart manifests read
through ``manifest``), DELETE (a multipart object's parts too) and server-side copy with
S3's metadata directive. User metadata ``x-amz-meta-*`` is Swift's ``X-Object-Meta-*``."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tinystack.common.exceptions import (
    BadRequest,
    NotFound,
    RequestEntityTooLarge,
    TinystackError,
)
from tinystack.object_store.services import objects, versioning
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.objects import ObjectPath
from tinystack.object_store.services.records import Reply
from tinystack.object_store.services.s3 import checksums, manifest
from tinystack.object_store.services.s3.body import BodyReader
from tinystack.object_store.services.s3.errors import S3Error
from tinystack.object_store.services.s3.records import Deleted, ObjectBody, ObjectHead, Written
from tinystack.object_store.services.version_copies import split_content_type

META = "x-object-meta-"
#: stored headers S3 answers besides the user metadata
KEPT = ("content-disposition", "content-encoding")
#: deletes of one DeleteObjects request in flight at once
DELETE_WORKERS = 8
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True, slots=True)
class Conditions:
    if_match: str | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None
    if_unmodified_since: str | None = None


class NotModified(Exception):
    """A GET or HEAD whose If-None-Match / If-Modified-Since says the client has it."""

    def __init__(self, head: ObjectHead) -> None:
        self.head = head
        super().__init__("304")


def swift_metadata(content_type: str, user: dict[str, str], headers: dict[str, str]
                   ) -> dict[str, str]:  # fmt: skip
    """What a Swift PUT stores for an S3 object's type, user metadata and headers."""
    meta = {"Content-Type": content_type or "binary/octet-stream"}
    meta.update({f"X-Object-Meta-{k}": v for k, v in user.items()})
    meta.update({k.title(): v for k, v in headers.items() if k.lower() in KEPT})
    return meta


def _when(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        parsed = email.utils.parsedate_tz(value)
        return float(email.utils.mktime_tz(parsed)) if parsed else 0.0


def _head_from(
    deps: Deps, path: ObjectPath, headers: dict[str, str], body: Iterator[bytes] | None = None
) -> tuple[ObjectHead, list[manifest.Segment]]:
    """The object's head and, for a multipart object, its segments (from ``body``, the
    manifest's bytes when they are at hand)."""  # fmt: skip
    lowered = {k.lower(): v for k, v in headers.items()}
    user = {k[len(META) :]: v for k, v in lowered.items() if k.startswith(META)}
    kept = {k.title(): v for k, v in lowered.items() if k in KEPT}
    stamp = lowered.get("x-timestamp") or lowered.get("last-modified", "0")
    content_type, version_id = split_content_type(lowered.get("content-type", ""))
    version_id = lowered.get("x-object-version-id") or version_id or ""
    head = ObjectHead(
        key=path.obj, size=int(lowered.get("content-length", "0")),
        etag=lowered.get("etag", "").strip('"'), last_modified=_when(stamp),
        content_type=content_type or "binary/octet-stream", metadata=user, headers=kept,
        version_id=version_id,
    )  # fmt: skip
    if lowered.get("x-static-large-object", "").lower() != "true":
        return head, []
    segments = manifest.read(body) if body is not None else manifest.load(deps, path)
    size = sum(s.size for s in segments)
    found = ObjectHead(head.key, size, manifest.s3_etag(segments), head.last_modified,
                       head.content_type, user, kept, len(segments), version_id)  # fmt: skip
    return found, segments


def _reply(deps: Deps, path: ObjectPath, method: str) -> Reply:
    try:
        reply = objects.get(deps, path, {}, method)
    except NotFound:
        raise S3Error("NoSuchBucket", BucketName=path.container) from None
    if reply.status == 404:
        raise S3Error("NoSuchKey", Key=path.obj)
    if reply.status >= 300:
        raise S3Error("ServiceUnavailable")
    return reply


def _version(deps: Deps, path: ObjectPath, version_id: str, method: str,
             range_header: str | None = None) -> Reply:  # fmt: skip
    """A version's reply (``null``: the unversioned one); NoSuchVersion if none."""
    wanted = {"range": range_header} if range_header else {}
    try:
        reply = versioning.read(deps, path, version_id, wanted, method)
    except NotFound:
        raise S3Error("NoSuchBucket", BucketName=path.container) from None
    except BadRequest:
        raise S3Error("InvalidArgument", "Invalid version id specified",
                      ArgumentName="versionId", ArgumentValue=version_id) from None  # fmt: skip
    if reply.status == 404:
        raise S3Error("NoSuchVersion", Key=path.obj, VersionId=version_id)
    if reply.status >= 300 and reply.status != 416:
        raise S3Error("ServiceUnavailable")
    if reply.status == 416:
        raise S3Error("InvalidRange")
    return reply


def head(deps: Deps, path: ObjectPath, conditions: Conditions | None = None,
         version_id: str | None = None) -> ObjectHead:  # fmt: skip
    if version_id is not None:
        reply = _version(deps, path, version_id, "HEAD")
    else:
        reply = _reply(deps, path, "HEAD")
    found, _ = _head_from(deps, path, reply.headers)
    if conditions is not None:
        check(found, conditions)
    return found


def _etag_in(header: str, etag: str) -> bool:
    tags = [t.strip().strip('"') for t in header.split(",")]
    return "*" in tags or etag in tags


def check(found: ObjectHead, cond: Conditions) -> None:
    """RFC 7232's order, as S3 evaluates it: 412 or ``NotModified``."""
    if cond.if_match is not None:
        if not _etag_in(cond.if_match, found.etag):
            raise S3Error("PreconditionFailed", Condition="If-Match")
    elif cond.if_unmodified_since is not None:
        since = _when(cond.if_unmodified_since)
        if since and int(found.last_modified) > since:
            raise S3Error("PreconditionFailed", Condition="If-Unmodified-Since")
    if cond.if_none_match is not None:
        if _etag_in(cond.if_none_match, found.etag):
            raise NotModified(found)
    elif cond.if_modified_since is not None:
        since = _when(cond.if_modified_since)
        if since and int(found.last_modified) <= since:
            raise NotModified(found)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) of a single ``bytes=`` range; None for the whole object
    (no range, or one S3 ignores); InvalidRange when it cannot be satisfied."""
    match = _RANGE.match((header or "").strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(size - int(last), 0), size
        if int(last) == 0:
            raise S3Error("InvalidRange", ActualObjectSize=str(size))
    else:
        start = int(first)
        end = min(int(last) + 1, size) if last else size
        if last and int(last) < start:
            return None
    if start >= size:
        raise S3Error("InvalidRange", ActualObjectSize=str(size))
    return start, end


def get(deps: Deps, path: ObjectPath, conditions: Conditions, range_header: str | None,
        version_id: str | None = None) -> ObjectBody:  # fmt: skip
    stream: Iterator[bytes] | None
    if version_id is not None:
        return _get_version(deps, path, conditions, range_header, version_id)
    if conditions == Conditions() and range_header is None:
        # the common case: one GET (a manifest's body is the list of its segments)
        reply = _reply(deps, path, "GET")
        found, segments = _head_from(deps, path, reply.headers, reply.stream)
        stream = reply.stream if not segments else \
            manifest.stream(deps, path.account, segments, 0, found.size)  # fmt: skip
        assert stream is not None
        return ObjectBody(found, 200, found.size, "", stream)
    found = head(deps, path, conditions)
    span = byte_range(range_header, found.size)
    start, end = span or (0, found.size)
    if found.parts:
        segments = manifest.load(deps, path)
        stream = manifest.stream(deps, path.account, segments, start, end)
    else:
        wanted = {"if-match": found.etag}
        if span is not None:
            wanted["range"] = f"bytes={start}-{end - 1}"
        reply = objects.get(deps, path, wanted)
        if reply.status in (404, 412):  # replaced since the HEAD
            raise S3Error("NoSuchKey", Key=path.obj)
        if reply.status >= 300 or reply.stream is None:
            raise S3Error("ServiceUnavailable")
        stream = reply.stream
    assert stream is not None
    content_range = f"bytes {start}-{end - 1}/{found.size}" if span is not None else ""
    return ObjectBody(found, 206 if span is not None else 200, end - start, content_range,
                      stream)  # fmt: skip


def _get_version(deps: Deps, path: ObjectPath, conditions: Conditions,
                 range_header: str | None, version_id: str) -> ObjectBody:  # fmt: skip
    """GET ``?versionId=``: the version's bytes (a range of a plain one)."""
    reply = _version(deps, path, version_id, "GET", range_header)
    found, segments = _head_from(deps, path, reply.headers, reply.stream)
    check(found, conditions)
    if segments:
        stream = manifest.stream(deps, path.account, segments, 0, found.size)
        return ObjectBody(found, 200, found.size, "", stream)
    assert reply.stream is not None
    content_range = reply.headers.get("Content-Range", "")
    length = int(reply.headers.get("Content-Length", "0"))
    if content_range:
        found = ObjectHead(found.key, int(content_range.rpartition("/")[2]), found.etag,
                           found.last_modified, found.content_type, found.metadata,
                           found.headers, found.parts, found.version_id)  # fmt: skip
    return ObjectBody(found, reply.status, length, content_range, reply.stream)


class ObjectUpload:
    """One S3 PUT (an object or a part): the decoded body goes to the replicas as it
    comes (chunked), and they commit only once the reader's checks passed."""

    def __init__(self, deps: Deps, path: ObjectPath, meta: dict[str, str], reader: BodyReader,
                 length: int | None) -> None:  # fmt: skip
        if length is not None and length > deps.opts.max_file_size:
            raise S3Error("EntityTooLarge", MaxSizeAllowed=str(deps.opts.max_file_size))
        self.deps = deps
        self.reader = reader
        try:
            plan = versioning.before_put(deps, path, meta)
            self.version_id = plan.version_id or ""
            self.upload = objects.begin_put(deps, path, plan.metadata, None, None)
        except NotFound:
            raise S3Error("NoSuchBucket", BucketName=path.container) from None
        except RequestEntityTooLarge:
            raise S3Error("EntityTooLarge", "The bucket's quota is exceeded") from None

    def write(self, chunks: list[bytes]) -> None:
        try:
            data = [self.reader.feed(c) for c in chunks]
            if self.reader.size > self.deps.opts.max_file_size:
                raise S3Error("EntityTooLarge", MaxSizeAllowed=str(self.deps.opts.max_file_size))
            self.upload.write(data)
        except BaseException:
            self.upload.abort()
            raise

    def commit(self) -> Written:
        try:
            self.reader.finish()
        except BaseException:
            self.upload.abort()
            raise
        reply = self.upload.commit()
        sums = {name: checksums.encode(value) for name, value in self.reader.sums.items()}
        return Written(reply.headers["ETag"], float(self.upload.timestamp), sums,
                       self.version_id)  # fmt: skip

    def abort(self) -> None:
        self.upload.abort()


def delete(deps: Deps, path: ObjectPath, version_id: str | None = None) -> Deleted:
    """Gone (204 also when it never was): with its parts when it is a multipart object;
    in a versioned bucket kept as a version behind a delete marker, or that one version
    removed (``version_id``)."""
    now = versioning.state(deps, path.account, path.container)
    if version_id is not None:
        try:
            reply = versioning.delete_version(deps, path, version_id)
        except BadRequest:
            raise S3Error("InvalidArgument", "Invalid version id specified",
                          ArgumentName="versionId", ArgumentValue=version_id) from None  # fmt: skip
        return Deleted(version_id)
    if now.versioned or now.location:
        reply = versioning.delete(deps, path)
        if reply.status >= 300 and reply.status != 404:
            raise S3Error("ServiceUnavailable")
        marker = reply.headers.get("X-Object-Version-Id", "")
        return Deleted(marker, bool(marker))
    try:
        reply = objects.head(deps, path, {})
    except NotFound:
        raise S3Error("NoSuchBucket", BucketName=path.container) from None
    segments: list[manifest.Segment] = []
    lowered = {k.lower(): v for k, v in reply.headers.items()}
    if reply.status < 300 and lowered.get("x-static-large-object", "").lower() == "true":
        segments = manifest.load(deps, path)
    if reply.status == 404:
        return Deleted()
    status = objects.delete(deps, path).status
    if status >= 300 and status != 404:
        raise S3Error("ServiceUnavailable")
    for seg in segments:
        objects.delete(deps, ObjectPath(path.account, seg.container, seg.name))
    return Deleted()


def delete_many(deps: Deps, account: str, bucket: str, keys: list[str]) -> list[S3Error | None]:
    """DeleteObjects: each key's outcome (None: deleted), several at once."""

    def one(key: str) -> S3Error | None:
        try:
            delete(deps, ObjectPath(account, bucket, key))
        except S3Error as exc:
            return exc
        return None

    with ThreadPoolExecutor(DELETE_WORKERS) as pool:
        return list(pool.map(one, keys))


def copy(deps: Deps, source: ObjectPath, dest: ObjectPath, conditions: Conditions,
         replaced: dict[str, str] | None, version_id: str | None = None) -> Written:  # fmt: skip
    """Server-side copy (of a version: ``version_id``); ``replaced``: the new Swift
    metadata (REPLACE), else the source's."""
    body = get(deps, source, conditions, None, version_id)
    found = body.head
    if found.size > deps.opts.max_file_size:
        raise S3Error("InvalidRequest", "The specified copy source is larger than the maximum "
                      "allowable size for a copy source")  # fmt: skip
    meta = replaced if replaced is not None else \
        swift_metadata(found.content_type, found.metadata, found.headers)  # fmt: skip
    try:
        plan = versioning.before_put(deps, dest, meta)
        upload = objects.begin_put(deps, dest, plan.metadata, found.size, None)
    except NotFound:
        raise S3Error("NoSuchBucket", BucketName=dest.container) from None
    try:
        for chunk in body.stream:
            upload.write([chunk])
        reply = upload.commit()
    except TinystackError:
        upload.abort()
        raise S3Error("ServiceUnavailable") from None
    except BaseException:
        upload.abort()
        raise
    return Written(reply.headers["ETag"], float(upload.timestamp), {}, plan.version_id or "")
