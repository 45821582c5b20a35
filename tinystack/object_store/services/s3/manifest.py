"""Multipart objects as the S3 API reads them: a static large object (``X-Static-Large-
Object``) whose stored manifest (Swift's form, ``[{"name": "/<container>/<segment>",
"bytes", "hash", ...}]``, written by ``services/slo_manifests``) lists the parts in the
bucket's ``+segments`` container. The S3 ETag is the md5 of the parts' md5s with their
count. Manifests with ranged, inline or nested segments (written through Swift) are
refused: this reader streams whole segments only."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass

from tinystack.object_store.services import objects
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.objects import ObjectPath
from tinystack.object_store.services.s3.errors import S3Error

#: a manifest larger than this is not one the S3 API wrote (10,000 parts fit)
MAX_MANIFEST = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Segment:
    container: str
    name: str
    size: int
    etag: str


def s3_etag(segments: list[Segment]) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for seg in segments:
        digest.update(bytes.fromhex(seg.etag))
    return f"{digest.hexdigest()}-{len(segments)}"


def decode(body: bytes) -> list[Segment]:
    try:
        rows = json.loads(body)
        found = []
        for row in rows:
            if any(k in row for k in ("range", "sub_slo", "data")):
                raise S3Error("NotImplemented", "Swift large objects with ranged, inline or "
                              "nested segments cannot be read through S3")  # fmt: skip
            container, _, name = str(row["name"]).lstrip("/").partition("/")
            found.append(Segment(container, name, int(row["bytes"]), str(row["hash"])))
    except (ValueError, KeyError, TypeError) as exc:
        raise S3Error("InternalError", "A multipart object's manifest is unreadable") from exc
    return found


def load(deps: Deps, path: ObjectPath) -> list[Segment]:
    reply = objects.get(deps, path, {})
    if reply.status == 404:
        raise S3Error("NoSuchKey", Key=path.obj)
    if reply.status >= 300 or reply.stream is None:
        raise S3Error("ServiceUnavailable")
    return read(reply.stream)


def read(stream: Iterator[bytes]) -> list[Segment]:
    """The segments of a manifest's body."""
    body = b""
    for chunk in stream:
        body += chunk
        if len(body) > MAX_MANIFEST:
            stream.close()  # type: ignore[attr-defined]
            raise S3Error("InternalError", "A multipart object's manifest is too large")
    return decode(body)


def stream(deps: Deps, account: str, segments: list[Segment], start: int, end: int
           ) -> Iterator[bytes]:  # fmt: skip
    """Bytes ``start`` to ``end`` (exclusive) of the segments in order."""
    offset = 0
    for seg in segments:
        first, last = max(start - offset, 0), min(end - offset, seg.size)
        offset += seg.size
        if first >= last:
            continue
        conditions = {} if (first, last) == (0, seg.size) else \
            {"range": f"bytes={first}-{last - 1}"}  # fmt: skip
        reply = objects.get(deps, ObjectPath(account, seg.container, seg.name), conditions)
        if reply.status >= 300 or reply.stream is None:
            raise S3Error("InternalError", f"The segment {seg.name} cannot be read")
        yield from reply.stream
