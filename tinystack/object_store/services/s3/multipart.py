"""Multipart uploads, kept as Swift's s3api keeps them: in the bucket's ``+segments``
container an upload's marker object ``<key>/<upload id>`` (holding the object's type and
user metadata) and its parts ``<key>/<upload id>/<part number>``; completing stores the
object as a static large object through ``services/slo_manifests`` (so the Swift API
reads it whole too; at most 1000 parts, SLO's limit), the S3 ETag ``<md5 of the parts'
md5s>-<count>`` riding in its container row's ETag as ``s3_etag``."""

from __future__ import annotations

import json
import re
import uuid

from tinystack.common.exceptions import NotFound
from tinystack.object_store.services import containers, objects, slo_manifests, versioning
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.large_objects import MAX_MANIFEST_SEGMENTS
from tinystack.object_store.services.objects import ObjectPath
from tinystack.object_store.services.reads import Refused
from tinystack.object_store.services.s3 import buckets, manifest
from tinystack.object_store.services.s3 import objects as s3objects
from tinystack.object_store.services.s3.body import BodyReader
from tinystack.object_store.services.s3.errors import S3Error
from tinystack.object_store.services.s3.listing import rows
from tinystack.object_store.services.s3.records import Part, Upload, Written

MIN_PART = 5 * 1024 * 1024
MAX_PARTS = 10000
_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def _marker(account: str, bucket: str, key: str, upload_id: str) -> ObjectPath:
    return ObjectPath(account, buckets.segments(bucket), f"{key}/{upload_id}")


def _part(account: str, bucket: str, key: str, upload_id: str, number: int) -> ObjectPath:
    return ObjectPath(account, buckets.segments(bucket), f"{key}/{upload_id}/{number}")


def initiate(deps: Deps, account: str, bucket: str, key: str, meta: dict[str, str]) -> str:
    buckets.require(deps, account, bucket)
    if not buckets.exists(deps, account, buckets.segments(bucket)):
        containers.put(deps, account, buckets.segments(bucket), {})
    upload_id = uuid.uuid4().hex
    upload = objects.begin_put(deps, _marker(account, bucket, key, upload_id), meta, 0, None)
    upload.commit()
    return upload_id


def _require(deps: Deps, account: str, bucket: str, key: str, upload_id: str) -> dict[str, str]:
    """The upload's stored metadata; NoSuchUpload unless it is in progress."""
    buckets.require(deps, account, bucket)
    if not _UPLOAD_ID.match(upload_id):
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    try:
        reply = objects.head(deps, _marker(account, bucket, key, upload_id), {})
    except NotFound:
        reply = None
    if reply is None or reply.status >= 300:
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    return reply.headers


def _number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_PARTS:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, "
                      "inclusive", ArgumentName="partNumber", ArgumentValue=text)  # fmt: skip
    return int(text)


def begin_part(deps: Deps, account: str, bucket: str, key: str, upload_id: str, number: str,
               reader: BodyReader, length: int | None) -> s3objects.ObjectUpload:  # fmt: skip
    part = _number(number)
    _require(deps, account, bucket, key, upload_id)
    path = _part(account, bucket, key, upload_id, part)
    return s3objects.ObjectUpload(deps, path, {"Content-Type": "application/octet-stream"},
                                  reader, length)  # fmt: skip


def copy_part(deps: Deps, account: str, bucket: str, key: str, upload_id: str, number: str,
              source: ObjectPath, version_id: str | None, conditions: s3objects.Conditions,
              range_header: str | None) -> Written:  # fmt: skip
    part = _number(number)
    _require(deps, account, bucket, key, upload_id)
    if range_header is not None and s3objects.byte_range(range_header, 1 << 62) is None:
        raise S3Error("InvalidArgument", "The x-amz-copy-source-range value must be of the "
                      "form bytes=first-last", ArgumentName="x-amz-copy-source-range")  # fmt: skip
    body = s3objects.get(deps, source, conditions, range_header, version_id)
    path = _part(account, bucket, key, upload_id, part)
    upload = objects.begin_put(deps, path, {"Content-Type": "application/octet-stream"},
                               body.length, None)  # fmt: skip
    try:
        for chunk in body.stream:
            upload.write([chunk])
    except BaseException:
        upload.abort()
        raise
    reply = upload.commit()
    return Written(reply.headers["ETag"], float(upload.timestamp))


def list_parts(deps: Deps, account: str, bucket: str, key: str, upload_id: str) -> list[Part]:
    _require(deps, account, bucket, key, upload_id)
    return _parts(deps, account, bucket, key, upload_id)


def _parts(deps: Deps, account: str, bucket: str, key: str, upload_id: str) -> list[Part]:
    prefix = f"{key}/{upload_id}/"
    found = rows(deps, account, buckets.segments(bucket), prefix, "", "", MAX_PARTS + 1)
    parts = [
        Part(int(r.name[len(prefix):]), r.count_or_size, r.etag, float(r.timestamp))
        for r in found if r.name[len(prefix):].isdigit()
    ]  # fmt: skip
    return sorted(parts, key=lambda p: p.number)


def complete(deps: Deps, account: str, bucket: str, key: str, upload_id: str,
             wanted: list[tuple[int, str]]) -> str:  # fmt: skip
    """The object from the parts named (in order, with their ETags); its S3 ETag."""
    meta = _require(deps, account, bucket, key, upload_id)
    if not wanted:
        raise S3Error("MalformedXML")
    if len(wanted) > MAX_MANIFEST_SEGMENTS:
        raise S3Error("InvalidRequest", f"A multipart upload completes with at most "
                      f"{MAX_MANIFEST_SEGMENTS} parts (Swift's SLO limit)")  # fmt: skip
    stored = {p.number: p for p in _parts(deps, account, bucket, key, upload_id)}
    numbers = [number for number, _ in wanted]
    if numbers != sorted(set(numbers)):
        raise S3Error("InvalidPartOrder", UploadId=upload_id)
    segments: list[manifest.Segment] = []
    for index, (number, etag) in enumerate(wanted):
        part = stored.get(number)
        if part is None or part.etag != etag.strip().strip('"'):
            raise S3Error("InvalidPart", UploadId=upload_id, PartNumber=str(number),
                          ETag=etag)  # fmt: skip
        if part.size < MIN_PART and index < len(wanted) - 1:
            raise S3Error("EntityTooSmall", ProposedSize=str(part.size),
                          MinSizeAllowed=str(MIN_PART), PartNumber=str(number))  # fmt: skip
        name = f"{key}/{upload_id}/{number}"
        segments.append(manifest.Segment(buckets.segments(bucket), name, part.size, part.etag))
    s3_etag = manifest.s3_etag(segments)
    kept = {k: v for k, v in meta.items()
            if k.lower().startswith("x-object-meta-") or k.lower() in (
                "content-type", "content-disposition", "content-encoding")}  # fmt: skip
    body = json.dumps([{"path": f"/{s.container}/{s.name}", "etag": s.etag, "size_bytes": s.size}
                       for s in segments]).encode()  # fmt: skip
    path = ObjectPath(account, bucket, key)
    plan = versioning.before_put(deps, path, kept)
    try:
        reply, problems = slo_manifests.put(deps, path, body, plan.metadata, None, None,
                                            f"; s3_etag={s3_etag}")  # fmt: skip
    except Refused as exc:
        raise S3Error("InvalidRequest", exc.body.decode(errors="replace")) from None
    if problems or reply.status >= 300:
        raise S3Error("InvalidPart", UploadId=upload_id)
    objects.delete(deps, _marker(account, bucket, key, upload_id))
    used = {s.name for s in segments}
    for number in stored:
        name = f"{key}/{upload_id}/{number}"
        if name not in used:
            objects.delete(deps, ObjectPath(account, buckets.segments(bucket), name))
    return s3_etag


def abort(deps: Deps, account: str, bucket: str, key: str, upload_id: str) -> None:
    _require(deps, account, bucket, key, upload_id)
    if not _completed(deps, account, bucket, key, upload_id):
        for part in _parts(deps, account, bucket, key, upload_id):
            objects.delete(deps, _part(account, bucket, key, upload_id, part.number))
    objects.delete(deps, _marker(account, bucket, key, upload_id))


def _completed(deps: Deps, account: str, bucket: str, key: str, upload_id: str) -> bool:
    """Whether the object is this upload's manifest already (a completion cut short after
    writing it): its parts then belong to the object."""
    path = ObjectPath(account, bucket, key)
    reply = objects.head(deps, path, {})
    lowered = {k.lower(): v for k, v in reply.headers.items()}
    if reply.status >= 300 or lowered.get("x-static-large-object", "").lower() != "true":
        return False
    prefix = f"{key}/{upload_id}/"
    return any(s.name.startswith(prefix) for s in manifest.load(deps, path))


def list_uploads(deps: Deps, account: str, bucket: str, prefix: str, key_marker: str,
                 upload_id_marker: str, max_uploads: int) -> tuple[list[Upload], bool]:  # fmt: skip
    """Uploads in progress (by key, then initiation), after the markers; (page, truncated)."""
    buckets.require(deps, account, bucket)
    if not buckets.exists(deps, account, buckets.segments(bucket)):
        return [], False
    found: list[Upload] = []
    marker = key_marker
    while True:
        page = rows(deps, account, buckets.segments(bucket), prefix, "", marker,
                    deps.opts.listing_limit)  # fmt: skip
        for row in page:
            key, _, last = row.name.rpartition("/")
            if _UPLOAD_ID.match(last) and key.startswith(prefix):
                if key == key_marker and (not upload_id_marker or last <= upload_id_marker):
                    continue
                found.append(Upload(key, last, float(row.timestamp)))
        if len(page) < deps.opts.listing_limit:
            break
        marker = page[-1].name
    found.sort(key=lambda u: (u.key, u.initiated))
    return found[:max_uploads], len(found) > max_uploads
