"""Bucket handlers: list buckets, create, head, delete, list objects (v1, v2, versions),
location, versioning, ACL, DeleteObjects."""

from __future__ import annotations

import base64
import binascii
import hashlib
import urllib.parse
from collections.abc import Callable

from starlette.responses import Response

from tinystack.object_store.api.s3 import acl, documents
from tinystack.object_store.api.s3.call import S3Call
from tinystack.object_store.api.s3.documents import Node
from tinystack.object_store.api.s3.replies import run, xml
from tinystack.object_store.services.s3 import buckets, listing
from tinystack.object_store.services.s3 import objects as s3objects
from tinystack.object_store.services.s3.errors import S3Error
from tinystack.object_store.services.s3.records import Listing

MAX_DELETE = 1000


def _owner(call: S3Call) -> list[Node]:
    return [("ID", call.owner), ("DisplayName", call.owner)]


async def list_buckets(call: S3Call) -> Response:
    found = await run(buckets.list_buckets, call.deps, call.account)
    entries: list[Node] = [
        ("Bucket", [("Name", b.name), ("CreationDate", documents.iso(b.created))]) for b in found
    ]
    return xml(documents.document("ListAllMyBucketsResult",
                                  [("Owner", _owner(call)), ("Buckets", entries)]))  # fmt: skip


async def create_bucket(call: S3Call) -> Response:
    body = await call.request.body()
    location = ""
    if body.strip():
        config = documents.parse(body, "CreateBucketConfiguration")
        location = documents.text(config, "LocationConstraint") or ""
    await run(buckets.create, call.deps, call.account, call.bucket, location,
              call.header("x-amz-acl"))  # fmt: skip
    return Response(status_code=200, headers={"Location": "/" + call.bucket})


async def head_bucket(call: S3Call) -> Response:
    await run(buckets.require, call.deps, call.account, call.bucket)
    return Response(status_code=200, headers={"x-amz-bucket-region": call.deps.opts.s3_location})


async def delete_bucket(call: S3Call) -> Response:
    await run(buckets.delete, call.deps, call.account, call.bucket)
    return Response(status_code=204)


async def get_location(call: S3Call) -> Response:
    await run(buckets.require, call.deps, call.account, call.bucket)
    region = call.deps.opts.s3_location
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="{documents.NS}">'
    body += ("" if region == "us-east-1" else region) + "</LocationConstraint>"
    return xml(body.encode())


async def get_versioning(call: S3Call) -> Response:
    status = await run(buckets.versioning_status, call.deps, call.account, call.bucket)
    return xml(documents.document("VersioningConfiguration", [("Status", status or None)]))


async def put_versioning(call: S3Call) -> Response:
    config = documents.parse(await call.request.body(), "VersioningConfiguration")
    status = documents.text(config, "Status")
    if status not in ("Enabled", "Suspended"):
        raise S3Error("MalformedXML")
    if documents.text(config, "MfaDelete") == "Enabled":
        raise S3Error("NotImplemented", "MFA delete is not supported")
    await run(buckets.set_versioning, call.deps, call.account, call.bucket, status == "Enabled")
    return Response(status_code=200)


async def get_bucket_acl(call: S3Call) -> Response:
    found = await run(buckets.grants, call.deps, call.account, call.bucket, call.owner)
    return xml(acl.render(found))


async def put_bucket_acl(call: S3Call) -> Response:
    wanted = acl.wanted(call, await call.request.body())
    await run(buckets.put_acl, call.deps, call.account, call.bucket, wanted)
    return Response(status_code=200)


# -- listings -----------------------------------------------------------------------------------
def _max_keys(call: S3Call) -> int:
    text = call.param("max-keys") or str(listing.MAX_KEYS)
    if not text.isdigit():
        raise S3Error("InvalidArgument", "Provided max-keys not an integer or within integer "
                      "range", ArgumentName="max-keys", ArgumentValue=text)  # fmt: skip
    return min(int(text), listing.MAX_KEYS)


def _encoder(call: S3Call) -> tuple[str | None, Callable[[str], str]]:
    kind = call.param("encoding-type")
    if kind is None:
        return None, lambda s: s
    if kind != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      ArgumentName="encoding-type", ArgumentValue=kind)  # fmt: skip
    return "url", lambda s: urllib.parse.quote(s, safe="/")


def _entries(call: S3Call, found: Listing, owner: bool) -> list[Node]:
    _, encode = _encoder(call)
    nodes: list[Node] = []
    for o in found.objects:
        item: list[Node] = [("Key", encode(o.key))]
        item += [("LastModified", documents.iso(o.last_modified)), ("ETag", f'"{o.etag}"'),
                 ("Size", o.size)]  # fmt: skip
        if owner:
            item.append(("Owner", _owner(call)))
        item.append(("StorageClass", "STANDARD"))
        nodes.append(("Contents", item))
    nodes += [("CommonPrefixes", [("Prefix", encode(p))])
              for p in found.prefixes]  # fmt: skip
    return nodes


async def list_objects(call: S3Call) -> Response:
    v2 = call.param("list-type") == "2"
    prefix, delimiter = call.param("prefix") or "", call.param("delimiter") or ""
    max_keys = _max_keys(call)
    kind, encode = _encoder(call)
    if v2:
        token = call.param("continuation-token")
        marker = _decode_token(token) if token is not None else call.param("start-after") or ""
    else:
        marker = call.param("marker") or ""
    found = await run(listing.list_objects, call.deps, call.account, call.bucket, prefix,
                      delimiter, marker, max_keys)  # fmt: skip
    head: list[Node] = [("Name", call.bucket), ("Prefix", encode(prefix))]
    if v2:
        if token is not None:
            head.append(("ContinuationToken", token))
        if call.param("start-after") is not None:
            head.append(("StartAfter", encode(call.param("start-after") or "")))
        head.append(("KeyCount", len(found.objects) + len(found.prefixes)))
        if found.truncated:
            head.append(("NextContinuationToken", base64.urlsafe_b64encode(
                found.last.encode()).decode()))  # fmt: skip
    else:
        head.append(("Marker", encode(marker)))
        if found.truncated and delimiter:
            head.append(("NextMarker", encode(found.last)))
    head.append(("MaxKeys", max_keys))
    if delimiter:
        head.append(("Delimiter", encode(delimiter)))
    if kind:
        head.append(("EncodingType", kind))
    head.append(("IsTruncated", found.truncated))
    owner = not v2 or call.param("fetch-owner") == "true"
    return xml(documents.document("ListBucketResult", head + _entries(call, found, owner)))


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, ValueError):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                      ArgumentName="continuation-token") from None  # fmt: skip


async def list_versions(call: S3Call) -> Response:
    """ListObjectVersions: Swift's ``?versions`` listing (every object is its one ``null``
    version in a bucket that never had versioning)."""
    prefix, delimiter = call.param("prefix") or "", call.param("delimiter") or ""
    max_keys = _max_keys(call)
    kind, encode = _encoder(call)
    key_marker, id_marker = call.param("key-marker") or "", call.param("version-id-marker") or ""
    found, prefixes, truncated = await run(
        listing.list_versions, call.deps, call.account, call.bucket, prefix, delimiter,
        key_marker, id_marker, max_keys,
    )  # fmt: skip
    head: list[Node] = [("Name", call.bucket), ("Prefix", encode(prefix)),
                        ("KeyMarker", encode(key_marker)), ("VersionIdMarker", id_marker),
                        ("MaxKeys", max_keys), ("IsTruncated", truncated)]  # fmt: skip
    if truncated and found:
        head += [("NextKeyMarker", encode(found[-1].key)),
                 ("NextVersionIdMarker", found[-1].version_id)]  # fmt: skip
    if delimiter:
        head.append(("Delimiter", encode(delimiter)))
    if kind:
        head.append(("EncodingType", kind))
    for v in found:
        item: list[Node] = [("Key", encode(v.key)), ("VersionId", v.version_id),
                            ("IsLatest", v.latest),
                            ("LastModified", documents.iso(v.last_modified))]  # fmt: skip
        if not v.delete_marker:
            item += [("ETag", f'"{v.etag}"'), ("Size", v.size), ("StorageClass", "STANDARD")]
        item.append(("Owner", _owner(call)))
        head.append(("DeleteMarker" if v.delete_marker else "Version", item))
    head += [("CommonPrefixes", [("Prefix", encode(p))]) for p in prefixes]
    return xml(documents.document("ListVersionsResult", head))


# -- DeleteObjects ------------------------------------------------------------------------------
async def delete_objects(call: S3Call) -> Response:
    body = await call.request.body()
    if len(body) > documents.MAX_BODY:
        raise S3Error("MalformedXML")
    md5 = call.header("content-md5")
    if md5 is not None and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
        raise S3Error("BadDigest")
    request = documents.parse(body, "Delete")
    keys = [documents.text(o, "Key") for o in documents.children(request, "Object")]
    if not keys or len(keys) > MAX_DELETE or any(not k for k in keys):
        raise S3Error("MalformedXML")
    quiet = (documents.text(request, "Quiet") or "").lower() == "true"
    await run(buckets.require, call.deps, call.account, call.bucket)
    names = [k for k in keys if k is not None]
    outcomes = await run(s3objects.delete_many, call.deps, call.account, call.bucket, names)
    results: list[Node] = []
    for key, failed in zip(names, outcomes, strict=True):
        if failed is not None:
            results.append(("Error", [("Key", key), ("Code", failed.code),
                                      ("Message", failed.message)]))  # fmt: skip
        elif not quiet:
            results.append(("Deleted", [("Key", key)]))
    return xml(documents.document("DeleteResult", results))
