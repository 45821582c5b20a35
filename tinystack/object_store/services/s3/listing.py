"""S3's object listings (ListObjects v1 and v2 share this) over the container's listing:
prefix, delimiter (common prefixes), a start marker and max-keys; multipart objects show
their whole size and S3 ETag from their container row."""

from __future__ import annotations

import urllib.parse

from tinystack.object_store.services import containers
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.records import ListingEntry
from tinystack.object_store.services.s3.errors import S3Error
from tinystack.object_store.services.s3.records import ListedObject, Listing

MAX_KEYS = 1000


def listed_etag(etag: str) -> str:
    """A row's ETag as S3 shows it (a multipart object's row: ``<slo>; s3_etag=<s3>``)."""
    base, _, params = etag.partition(";")
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name == "s3_etag":
            return value
    return base.strip()


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
        ListedObject(r.name, r.count_or_size, listed_etag(r.etag), float(r.timestamp))
        for r in page if not r.subdir
    )  # fmt: skip
    prefixes = tuple(r.name for r in page if r.subdir)
    return Listing(objects, prefixes, len(found) > max_keys, page[-1].name if page else "")
