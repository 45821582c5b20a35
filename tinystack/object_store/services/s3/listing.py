"""S3's object listings (ListObjects v1 and v2 share this) over the container's listing:
prefix, delimiter (common prefixes), a start marker and max-keys; multipart objects show
their whole size (``swift_bytes``) and S3 ETag (``s3_etag``) from their container row."""

from __future__ import annotations

import urllib.parse

from tinystack.common.exceptions import BadRequest
from tinystack.object_store.services import containers, versioning
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.records import ListingEntry
from tinystack.object_store.services.s3.errors import S3Error
from tinystack.object_store.services.s3.records import ListedObject, ListedVersion, Listing
from tinystack.object_store.services.version_copies import DELETE_MARKER

MAX_KEYS = 1000


def listed_etag(etag: str) -> str:
    """A row's ETag as S3 shows it (a multipart object's row: ``<slo>; s3_etag=<s3>``)."""
    base, _, params = etag.partition(";")
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name == "s3_etag":
            return value
    return base.strip()


def listed_size(row: ListingEntry) -> int:
    """A row's size (a large object's row: ``swift_bytes`` in its content type)."""
    for param in row.bytes_or_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name == "swift_bytes" and value.isdigit():
            return int(value)
    return row.count_or_size


def _after(marker: str, prefix: str, delimiter: str) -> str:
    """The backend marker for a listing that resumes after ``marker``: past every key of a
    common prefix already given."""
    if delimiter and marker.startswith(prefix) and marker.endswith(delimiter):
        return marker[:-1] + chr(ord(delimiter) + 1)
    return marker


def rows(deps: Deps, account: str, container: str, prefix: str, delimiter: str, marker: str,
         limit: int) -> list[ListingEntry]:  # fmt: skip
    query = {"limit": str(limit), "prefix": prefix, "marker": _after(marker, prefix, delimiter)}
    if delimiter:
        query["delimiter"] = delimiter
    reply, found = containers.listing(deps, account, container, urllib.parse.urlencode(query))
    if reply.status == 404:
        raise S3Error("NoSuchBucket", BucketName=container)
    if reply.status >= 300:
        raise S3Error("ServiceUnavailable")
    return found


def list_objects(deps: Deps, account: str, bucket: str, prefix: str, delimiter: str,
                 marker: str, max_keys: int) -> Listing:  # fmt: skip
    if len(delimiter) > 1:
        # Swift's container servers roll up on one character
        raise S3Error("NotImplemented", "Delimiters of more than one character are not "
                      "supported")  # fmt: skip
    if max_keys == 0:
        return Listing((), (), False, "")
    found = rows(deps, account, bucket, prefix, delimiter, marker, min(max_keys, MAX_KEYS) + 1)
    page = found[:max_keys]
    objects = tuple(
        ListedObject(r.name, listed_size(r), listed_etag(r.etag), float(r.timestamp))
        for r in page if not r.subdir
    )  # fmt: skip
    prefixes = tuple(r.name for r in page if r.subdir)
    return Listing(objects, prefixes, len(found) > max_keys, page[-1].name if page else "")


def list_versions(deps: Deps, account: str, bucket: str, prefix: str, delimiter: str,
                  key_marker: str, version_marker: str, max_keys: int
                  ) -> tuple[list[ListedVersion], list[str], bool]:  # fmt: skip
    """ListObjectVersions over Swift's ``?versions`` listing: (versions, common prefixes,
    truncated)."""
    params = {"prefix": prefix}
    if delimiter:
        params["delimiter"] = delimiter
    if key_marker:
        params["marker"] = key_marker
        if version_marker:
            params["version_marker"] = version_marker
    try:
        reply, rows = versioning.list_versions(deps, account, bucket, params, max_keys + 1)
    except BadRequest as exc:
        raise S3Error("InvalidArgument", str(exc)) from None
    if reply.status == 404:
        raise S3Error("NoSuchBucket", BucketName=bucket)
    if reply.status >= 300:
        raise S3Error("ServiceUnavailable")
    page = rows[:max_keys]
    found = [
        ListedVersion(r.entry.name, r.version_id, r.is_latest,
                      r.entry.bytes_or_type == DELETE_MARKER, listed_size(r.entry),
                      listed_etag(r.entry.etag), float(r.entry.timestamp))
        for r in page if not r.entry.subdir
    ]  # fmt: skip
    return found, [r.entry.name for r in page if r.entry.subdir], len(rows) > max_keys
