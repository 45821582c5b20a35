"""S3 buckets over Swift containers of the caller's account (``AUTH_<project_id>``): create
(with a location constraint and a canned ACL), list, head, delete (BucketNotEmpty while
objects remain), location, and ACLs mapped onto the container's read ACL."""

from __future__ import annotations

import re
import urllib.parse

from tinystack.common.exceptions import BadRequest, Conflict, NotFound
from tinystack.object_store.services import accounts, containers, objects, versioning
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.s3.errors import S3Error
from tinystack.object_store.services.s3.records import BucketEntry, Grants

#: the container holding a bucket's multipart parts (as Swift's s3api names it)
SEGMENTS_SUFFIX = "+segments"
_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
#: canned ACL -> the container's X-Container-Read
CANNED = {"private": "", "public-read": ".r:*,.rlistings", "authenticated-read": "*:*"}


def check_name(bucket: str) -> None:
    if not _NAME.match(bucket) or ".." in bucket or _IP.match(bucket) or ".-" in bucket \
            or "-." in bucket:  # fmt: skip
        raise S3Error("InvalidBucketName", BucketName=bucket)


def segments(bucket: str) -> str:
    return bucket + SEGMENTS_SUFFIX


def list_buckets(deps: Deps, account: str) -> list[BucketEntry]:
    found: list[BucketEntry] = []
    marker = ""
    while True:
        query = urllib.parse.urlencode({"limit": deps.opts.listing_limit, "marker": marker})
        reply, rows = accounts.listing(deps, account, query)
        if reply.status >= 300:
            raise S3Error("ServiceUnavailable")
        found += [BucketEntry(r.name, float(r.timestamp)) for r in rows
                  if not r.name.endswith(SEGMENTS_SUFFIX)
                  and not versioning.is_reserved(r.name)]  # fmt: skip
        if len(rows) < deps.opts.listing_limit:
            return found
        marker = rows[-1].name


def exists(deps: Deps, account: str, bucket: str) -> bool:
    return containers.cached_head(deps, account, bucket).status < 300


def require(deps: Deps, account: str, bucket: str) -> None:
    if not exists(deps, account, bucket):
        raise S3Error("NoSuchBucket", BucketName=bucket)


def create(deps: Deps, account: str, bucket: str, location: str, canned: str | None) -> None:
    check_name(bucket)
    if location and location != deps.opts.s3_location:
        raise S3Error("InvalidLocationConstraint", LocationConstraint=location)
    if containers.head(deps, account, bucket).status < 300:
        raise S3Error("BucketAlreadyOwnedByYou", BucketName=bucket)
    meta = {"X-Container-Read": _canned(canned)} if canned else {}
    if containers.put(deps, account, bucket, meta).status >= 300:
        raise S3Error("ServiceUnavailable")


def delete(deps: Deps, account: str, bucket: str) -> None:
    try:
        versions = versioning.before_container_delete(deps, account, bucket)
    except Conflict:
        raise S3Error("BucketNotEmpty", BucketName=bucket) from None
    status = containers.delete(deps, account, bucket).status
    if status < 300:
        versioning.after_container_delete(deps, account, versions)
    if status == 404:
        raise S3Error("NoSuchBucket", BucketName=bucket)
    if status == 409:
        raise S3Error("BucketNotEmpty", BucketName=bucket)
    if status >= 300:
        raise S3Error("ServiceUnavailable")
    # the parts of uploads never completed go with the bucket
    _, rows = containers.listing(deps, account, segments(bucket), "limit=10000")
    for row in rows:
        objects.delete(deps, objects.ObjectPath(account, segments(bucket), row.name))
    containers.delete(deps, account, segments(bucket))


def _canned(canned: str | None) -> str:
    if canned is None:
        return ""
    if canned not in CANNED:
        raise S3Error("NotImplemented", f"The canned ACL {canned} cannot be expressed with "
                      "Swift's container ACLs")  # fmt: skip
    return CANNED[canned]


def grants(deps: Deps, account: str, bucket: str, owner: str) -> Grants:
    reply = containers.cached_head(deps, account, bucket)
    if reply.status >= 300:
        raise S3Error("NoSuchBucket", BucketName=bucket)
    read = {k.lower(): v for k, v in reply.headers.items()}.get("x-container-read", "")
    entries = {e.strip() for e in read.split(",")}
    return Grants(owner, ".r:*" in entries, "*:*" in entries)


def put_acl(deps: Deps, account: str, bucket: str, wanted: Grants) -> None:
    require(deps, account, bucket)
    if wanted.public_read:
        read = CANNED["public-read"]
    else:
        read = CANNED["authenticated-read"] if wanted.authenticated_read else ""
    try:
        status = containers.post(deps, account, bucket, {"X-Container-Read": read}).status
    except NotFound:
        status = 404
    if status >= 300:
        raise S3Error("NoSuchBucket" if status == 404 else "ServiceUnavailable")


def canned_grants(owner: str, canned: str) -> Grants:
    _canned(canned)
    return Grants(owner, canned == "public-read", canned == "authenticated-read")


def versioning_status(deps: Deps, account: str, bucket: str) -> str:
    """``Enabled``, ``Suspended`` (once enabled, now off) or "" (never enabled)."""
    require(deps, account, bucket)
    now = versioning.state(deps, account, bucket)
    return "Enabled" if now.enabled else "Suspended" if now.versioned else ""


def set_versioning(deps: Deps, account: str, bucket: str, enabled: bool) -> None:
    """Swift's object versioning (``X-Versions-Enabled``) turned on or off."""
    require(deps, account, bucket)
    flag = {"x-versions-enabled": "true" if enabled else "false"}
    try:
        meta = versioning.container_metadata(deps, account, bucket, flag)
    except BadRequest as exc:
        raise S3Error("InvalidBucketState", str(exc)) from None
    if containers.post(deps, account, bucket, meta).status >= 300:
        raise S3Error("ServiceUnavailable")
