"""Reading objects for what they stand for, as Swift's slo, dlo and symlink middlewares
do on GET and HEAD: a symlink is followed (services/symlinks), then a large object's
manifest is expanded into its segments' bytes.

- **DLO** (``X-Object-Manifest: container/prefix``): the segments are the objects of the
  container whose names start with the prefix, in name order; the ETag is the quoted md5
  of their etags joined.
- **SLO** (``X-Static-Large-Object: True``; created by services/slo_manifests): the
  manifest's JSON lists the segments (objects, byte ranges of objects, inline data,
  nested manifests up to ``MAX_RECURSION`` deep); size and ETag (md5 of the segments'
  etags) sit in the manifest's sysmeta, so HEAD never reads the manifest.

Range and conditions are the proxy's here (the object server answers a manifest or a
link whole, see storage.object_server): single ranges, ``multipart/byteranges`` for
several, ``If-(None-)Match`` against the large object's ETag. A segment that is gone or
changed fails the request with 409 when it is the first one, otherwise the body is cut
short (the connection drops), as in Swift. ``?multipart-manifest=get`` (``&format=raw``)
reads the manifest itself."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tinystack.object_store.services import containers, symlinks
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.objects import ObjectPath, shown
from tinystack.object_store.services.reads import (
    IGNORE_RANGE,
    Found,
    Refused,
    Target,
    byte_ranges,
    check_conditions,
    fetch,
    multipart,
)  # fmt: skip
from tinystack.object_store.services.records import Reply

LOG = logging.getLogger(__name__)
SLO = "X-Static-Large-Object"
SLO_ETAG = "X-Object-Sysmeta-Slo-Etag"
SLO_SIZE = "X-Object-Sysmeta-Slo-Size"
DLO = "X-Object-Manifest"
MAX_MANIFEST_SEGMENTS = 1000
MAX_MANIFEST_SIZE = 8 * 1024 * 1024
#: nested manifests deeper than this fail the read (Swift's max_slo_recursion_depth)
MAX_RECURSION = 10
#: a stored manifest is never larger than this (with the names Swift adds per segment)
MAX_STORED_MANIFEST = 4 * MAX_MANIFEST_SIZE
#: (account, container) -> raises when the caller may not read there
Authorize = Callable[[str, str], None]
Segments = list[dict[str, object]]


@dataclass(frozen=True, slots=True)
class ReadOptions:
    manifest: bool = False  #: ?multipart-manifest=get: the manifest itself
    raw: bool = False  #: &format=raw: the manifest in the form a PUT takes
    link: bool = False  #: ?symlink=get: the link itself
    authorize: Authorize | None = None


class SegmentError(Exception):
    """A segment missing, or not what the manifest says."""


@dataclass(frozen=True, slots=True)
class Piece:
    """Bytes ``first..last`` (inclusive) of a segment object, or of inline data."""

    target: Target | None
    first: int
    last: int
    etag: str = ""  #: the whole segment's etag ("" when unchecked, as for DLO)
    size: int = -1  #: the whole segment's size (-1 when unchecked)
    data: bytes = b""


def is_slo(found: Found) -> bool:
    return found.status < 300 and (found.header(SLO) or "").lower() in ("true", "1", "yes")


def get(
    deps: Deps, path: ObjectPath, conditions: dict[str, str], method: str = "GET",
    options: ReadOptions = ReadOptions(),
) -> Reply:  # fmt: skip
    """GET or HEAD of an object: links followed and large objects expanded unless the
    options ask for the link or the manifest itself. ``conditions``: the request's
    Range and If-* headers."""
    ignore = ([] if options.link else [symlinks.TARGET]) + ([] if options.manifest else [SLO, DLO])
    headers = {**conditions, IGNORE_RANGE: ",".join(ignore)} if ignore else dict(conditions)
    target = Target(*path.names)
    found = fetch(deps, target, method, headers)
    location = ""
    if not options.link:
        found, target, location = symlinks.follow(
            deps, target, found, method, headers, options.authorize
        )
    extra = {"Content-Location": location} if location else {}
    if location and found.status == 404:  # a dangling link says where it points
        found.close()
        page = "<html><h1>Not Found</h1><p>The resource could not be found.</p></html>"
        raise Refused(404, page, {"Content-Type": "text/html; charset=UTF-8", **extra})
    if found.status < 300 and not options.manifest:
        if is_slo(found):
            return _slo(deps, target, found, conditions, method, options.authorize, extra)
        if found.header(DLO) is not None:
            return _dlo(deps, target, found, conditions, method, options.authorize, extra)
    if options.manifest and is_slo(found):
        return _manifest(found, method, options.raw, extra)
    visible = {**shown(found.headers), **extra}
    if options.link:
        visible.update(symlinks.link_headers(found))
    stream = found.stream() if method == "GET" and found.status < 300 else None
    if stream is None:
        found.close()
    return Reply(found.status, visible, stream=stream)


def _base_headers(found: Found, etag: str, extra: dict[str, str]) -> dict[str, str]:
    dropped = ("content-length", "etag", "content-range")
    headers = {k: v for k, v in shown(found.headers).items() if k.lower() not in dropped}
    return {**headers, "ETag": f'"{etag}"', "Accept-Ranges": "bytes", **extra}


def _manifest(found: Found, method: str, raw: bool, extra: dict[str, str]) -> Reply:
    headers = {**shown(found.headers), **extra}
    if method == "HEAD" or not raw:
        if not raw:
            headers["Content-Type"] = "application/json; charset=utf-8"
        stream = found.stream() if method == "GET" else None
        if stream is None:
            found.close()
        return Reply(200, headers, stream=stream)
    body = raw_manifest(load_manifest(found))
    headers.update({"Content-Length": str(len(body)),
                    "ETag": hashlib.md5(body, usedforsecurity=False).hexdigest()})  # fmt: skip
    return Reply(200, headers, body)


def load_manifest(found: Found) -> Segments:
    body = found.body(MAX_STORED_MANIFEST)
    try:
        segments = json.loads(body)
    except ValueError as exc:
        raise Refused(409, "Unable to load SLO manifest") from exc
    if not isinstance(segments, list):
        raise Refused(409, "Unable to load SLO manifest")
    return segments


def raw_manifest(segments: Segments) -> bytes:
    """The stored manifest in the form ``?multipart-manifest=put`` takes."""
    converted: list[dict[str, object]] = []
    for seg in segments:
        if "data" in seg:
            converted.append(dict(seg))
            continue
        item = {"path": seg.get("name"), "size_bytes": seg.get("bytes"), "etag": seg.get("hash")}
        if seg.get("range"):
            item["range"] = seg["range"]
        converted.append(item)
    return json.dumps(converted, sort_keys=True).encode()


def _slo(
    deps: Deps, target: Target, found: Found, conditions: dict[str, str], method: str,
    authorize: Authorize | None, extra: dict[str, str],
) -> Reply:  # fmt: skip
    etag, size_text = found.header(SLO_ETAG), found.header(SLO_SIZE) or ""
    segments: Segments | None = None
    if not etag or not size_text.isdigit():  # a manifest without the sums: add them up
        segments = load_manifest(found)
        etag, size = slo_sums(segments)
    else:
        size = int(size_text)
    headers = {**_base_headers(found, etag, extra), "X-Manifest-Etag": found.etag}
    status = check_conditions(conditions, etag, found.header("last-modified") or "")
    if status != 200 or method == "HEAD":
        found.close()
        return Reply(status, {**headers, "Content-Length": str(size)} if status == 200 else headers)
    if segments is None:
        segments = load_manifest(found)

    def pieces(first: int, last: int) -> Iterator[Piece]:
        return _slo_pieces(deps, target.account, segments, first, last, 1, authorize)

    return _ranged(deps, headers, size, conditions.get("range"), pieces, authorize)


def segment_length(seg: dict[str, object]) -> int:
    if "data" in seg:
        return len(base64.b64decode(str(seg["data"])))
    if seg.get("range"):
        start, _, end = str(seg["range"]).partition("-")
        return int(end) - int(start) + 1
    return int(str(seg.get("bytes", 0)))


def segment_etag(seg: dict[str, object]) -> str:
    """What a segment adds to the SLO's ETag."""
    if "data" in seg:
        raw = base64.b64decode(str(seg["data"]))
        return hashlib.md5(raw, usedforsecurity=False).hexdigest()
    if seg.get("range"):
        return f"{seg['hash']}:{seg['range']};"
    return str(seg["hash"])


def slo_sums(segments: Segments) -> tuple[str, int]:
    """(ETag, size) of a large object from its manifest."""
    md5 = hashlib.md5(usedforsecurity=False)
    for seg in segments:
        md5.update(segment_etag(seg).encode())
    return md5.hexdigest(), sum(segment_length(seg) for seg in segments)


def _slo_pieces(
    deps: Deps, account: str, segments: Segments, first: int, last: int, depth: int,
    authorize: Authorize | None,
) -> Iterator[Piece]:  # fmt: skip
    """The pieces that make bytes ``first..last`` of the object the manifest describes."""
    for seg in segments:
        length = segment_length(seg)
        if first >= length:
            first, last = first - length, last - length
            continue
        if last < 0:
            return
        if "data" in seg:
            data = base64.b64decode(str(seg["data"]))
            yield Piece(None, max(0, first), min(length - 1, last), data=data)
            first, last = first - length, last - length
            continue
        start, end = 0, length - 1
        if seg.get("range"):
            start_text, _, end_text = str(seg["range"]).partition("-")
            start, end = int(start_text), int(end_text)
        container, _, obj = str(seg.get("name", "")).lstrip("/").partition("/")
        where = Target(account, container, obj)
        if seg.get("sub_slo"):
            if depth >= MAX_RECURSION:
                raise SegmentError("max recursion depth exceeded")
            sub = _sub_manifest(deps, where, authorize)
            yield from _slo_pieces(deps, account, sub, start + max(0, first),
                                   min(end, start + last), depth + 1, authorize)  # fmt: skip
        else:
            yield Piece(where, start + max(0, first), min(end, start + last),
                        str(seg.get("hash", "")), int(str(seg.get("bytes", -1))))  # fmt: skip
        first, last = first - length, last - length


def _sub_manifest(deps: Deps, where: Target, authorize: Authorize | None) -> Segments:
    if authorize is not None:
        authorize(where.account, where.container)
    found = fetch(deps, where, "GET", {})
    if not is_slo(found):
        found.close()
        raise SegmentError(f"submanifest {where.container}/{where.obj}: {found.status}")
    try:
        return load_manifest(found)
    except Refused as exc:
        raise SegmentError(str(exc)) from exc


def _dlo(
    deps: Deps, target: Target, found: Found, conditions: dict[str, str], method: str,
    authorize: Authorize | None, extra: dict[str, str],
) -> Reply:  # fmt: skip
    found.close()
    value = urllib.parse.unquote(found.header(DLO) or "")
    container, _, prefix = value.partition("/")
    if authorize is not None:
        authorize(target.account, container)
    entries = _listing(deps, target.account, container, prefix)
    md5 = hashlib.md5(usedforsecurity=False)
    for _, _, etag in entries:
        md5.update(etag.encode())
    size = sum(e[1] for e in entries)
    headers = _base_headers(found, md5.hexdigest(), extra)
    status = check_conditions(conditions, md5.hexdigest(), found.header("last-modified") or "")
    if status != 200 or method == "HEAD":
        return Reply(status, {**headers, "Content-Length": str(size)} if status == 200 else headers)

    def pieces(first: int, last: int) -> Iterator[Piece]:
        for name, length, _ in entries:
            if first < length and last >= 0:
                where = Target(target.account, container, name)
                yield Piece(where, max(0, first), min(length - 1, last))
            first, last = first - length, last - length

    return _ranged(deps, headers, size, conditions.get("range"), pieces, authorize)


def _listing(deps: Deps, account: str, container: str, prefix: str) -> list[tuple[str, int, str]]:
    """(name, size, etag) of every object of ``container`` under ``prefix``."""
    found: list[tuple[str, int, str]] = []
    marker = ""
    limit = deps.opts.listing_limit
    while True:
        query = urllib.parse.urlencode({"prefix": prefix, "marker": marker, "limit": limit})
        reply, entries = containers.listing(deps, account, container, query)
        if reply.status == 404:
            return found
        if reply.status >= 300:
            raise Refused(reply.status, "")
        for e in entries:
            if not e.subdir:
                found.append((e.name, e.count_or_size, e.etag.partition(";")[0].strip()))
        if len(entries) < limit:
            return found
        marker = entries[-1].name


def _ranged(
    deps: Deps, headers: dict[str, str], size: int, range_header: str | None,
    pieces: Callable[[int, int], Iterator[Piece]], authorize: Authorize | None,
) -> Reply:  # fmt: skip
    """The large object's body (whole, one range, or several)."""
    ranges = byte_ranges(range_header, size)
    if ranges is None:
        body = _bytes(deps, pieces(0, size - 1), authorize) if size else iter(())
        return Reply(200, {**headers, "Content-Length": str(size)}, stream=body)
    if not ranges:
        raise Refused(416, "Requested Range Not Satisfiable",
                      {"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"})  # fmt: skip
    if len(ranges) == 1:
        first, last = ranges[0]
        return Reply(206, {**headers, "Content-Length": str(last - first + 1),
                           "Content-Range": f"bytes {first}-{last}/{size}"},
                     stream=_bytes(deps, pieces(first, last), authorize))  # fmt: skip
    content_type = headers.get("Content-Type", "application/octet-stream")
    parts = (_bytes(deps, pieces(first, last), authorize, lazy=True) for first, last in ranges)
    media, length, body = multipart(ranges, size, content_type, parts)
    return Reply(206, {**headers, "Content-Type": media, "Content-Length": str(length)},
                 stream=body)  # fmt: skip


def _bytes(
    deps: Deps, pieces: Iterator[Piece], authorize: Authorize | None, lazy: bool = False
) -> Iterator[bytes]:
    """The pieces' bytes. The first segment is opened before the response starts (a
    409 when it cannot be read), unless ``lazy``."""
    allowed: set[tuple[str, str]] = set()

    def open_piece(piece: Piece) -> Iterator[bytes]:
        if piece.target is None:
            return iter((piece.data[piece.first : piece.last + 1],))
        where = piece.target
        if authorize is not None and (where.account, where.container) not in allowed:
            authorize(where.account, where.container)
            allowed.add((where.account, where.container))
        return _segment(deps, piece)

    def rest(first: Iterator[bytes] | None) -> Iterator[bytes]:
        try:
            if first is not None:
                yield from first
            for piece in pieces:
                yield from open_piece(piece)
        except (SegmentError, Refused) as exc:
            LOG.warning("large object read cut short: %s", exc)
            raise

    if lazy:
        return rest(None)
    try:
        first_piece = next(pieces, None)
        opened = open_piece(first_piece) if first_piece is not None else None
        if opened is not None:
            opened = _primed(opened)
    except (SegmentError, Refused) as exc:
        LOG.warning("large object's first segment: %s", exc)
        raise Refused(409, "Conflict") from exc
    return rest(opened)


def _primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Read the first chunk now (so its errors surface before the response starts)."""
    head = next(chunks, b"")

    def again() -> Iterator[bytes]:
        if head:
            yield head
        yield from chunks

    return again()


def _segment(deps: Deps, piece: Piece) -> Iterator[bytes]:
    assert piece.target is not None
    found = fetch(deps, piece.target, "GET", {"Range": f"bytes={piece.first}-{piece.last}"})
    name = f"{piece.target.container}/{piece.target.obj}"
    if found.status not in (200, 206):
        found.close()
        raise SegmentError(f"segment {name}: {found.status}")
    total = (found.header("content-range") or "").rpartition("/")[2]
    total = total if total.isdigit() else str(found.size)
    if (piece.etag and found.etag != piece.etag) or (piece.size >= 0 and int(total) != piece.size):
        found.close()
        raise SegmentError(f"segment {name} changed (etag or size mismatch)")
    return _exactly(found, piece.last - piece.first + 1, name)


def _exactly(found: Found, wanted: int, name: str) -> Iterator[bytes]:
    stream = found.stream()
    sent = 0
    try:
        for chunk in stream or ():
            chunk = chunk[: wanted - sent]
            sent += len(chunk)
            if chunk:
                yield chunk
            if sent >= wanted:
                break
    finally:
        found.close()
    if sent < wanted:
        raise SegmentError(f"segment {name} short by {wanted - sent} bytes")
