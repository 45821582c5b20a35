"""Copies of an object kept as a version (object versioning and the legacy modes): its
bytes and metadata, the version id parameter dropped from its Content-Type, written at
a chosen timestamp (a version keeps the time it was made)."""

from __future__ import annotations

from tinystack.common.exceptions import ServiceUnavailable
from tinystack.object_store.services import objects
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.objects import ObjectPath

DELETE_MARKER = "application/x-deleted;swift_versions_deleted=1"
#: the Content-Type parameter holding a current object's version id
PARAM = "swift_versions_id"
#: what a version keeps of the object it was (besides X-Object-Meta-*)
KEPT = ("content-disposition", "content-encoding", "x-object-manifest", "x-static-large-object")


def split_content_type(value: str) -> tuple[str, str | None]:
    """The client's Content-Type and the version id parameter stored with it."""
    kept, found = [], None
    for part in value.split(";"):
        key, _, param = part.strip().partition("=")
        if key.lower() == PARAM:
            found = param.strip()
        else:
            kept.append(part)
    return ";".join(kept), found


def archive(deps: Deps, source: ObjectPath, dest: ObjectPath, at: str | None) -> bool:
    """Copy ``source`` (bytes, metadata, its Content-Type without the version id) to
    ``dest``, written at ``at`` (None: now). False when the source is gone."""
    found = objects.get(deps, source, {})
    if found.status == 404:
        return False
    if found.status >= 300 or found.stream is None:
        raise ServiceUnavailable("Service Unavailable")
    stream = found.stream
    try:
        meta = {
            k: v for k, v in found.headers.items()
            if k.lower().startswith("x-object-meta-") or k.lower() in KEPT
        }  # fmt: skip
        meta["Content-Type"] = split_content_type(found.headers.get("Content-Type", ""))[0]
        size = int(found.headers.get("Content-Length", "0"))
        upload = objects.Upload(deps, dest, meta, size, None, at)
        try:
            for chunk in stream:
                upload.write([chunk])
        except BaseException:
            upload.abort()
            raise
        upload.commit()
    finally:
        stream.close()  # type: ignore[attr-defined]
    return True
