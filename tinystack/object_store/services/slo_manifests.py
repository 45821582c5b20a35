"""Static large object manifests, as Swift's slo middleware writes and deletes them:
``?multipart-manifest=put`` validates the client's JSON (``path``, ``etag``,
``size_bytes``, ``range``, or inline ``data``), HEADs every segment (a nested manifest
counts with its whole size and ETag), refuses the lot with 400 and the list of problem
segments, or stores the manifest Swift stores (``name``, ``bytes``, ``hash``,
``content_type``, ``last_modified``, ``range``, ``sub_slo``) with the large object's
ETag and size in sysmeta; ``?multipart-manifest=delete`` deletes the segments (nested
manifests' too), then the manifest, answering as bulk delete does."""

from __future__ import annotations

import base64
import binascii
import hashlib
import http
import json
import re
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from tinystack.common.exceptions import TinystackError
from tinystack.object_store.exception import UnprocessableEntity
from tinystack.object_store.services import bulk, large_objects, objects
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.large_objects import (
    MAX_MANIFEST_SEGMENTS,
    MAX_MANIFEST_SIZE,
    SLO,
    SLO_ETAG,
    SLO_SIZE,
    Authorize,
    ReadOptions,
    Segments,
)  # fmt: skip
from tinystack.object_store.services.objects import ObjectPath
from tinystack.object_store.services.reads import Refused, Target, fetch
from tinystack.object_store.services.records import Reply

OVERRIDE_ETAG = "X-Backend-Container-Update-Override-Etag"
OVERRIDE_TYPE = "X-Backend-Container-Update-Override-Content-Type"
_RANGE = re.compile(r"^(\d*)-(\d*)$")
HEAD_CONCURRENCY = 4


def _range_error(text: str, size: object) -> str | None:
    """Why a segment's ``range`` is refused (None: it is fine)."""
    if "," in text:
        return "multiple ranges (only one allowed)"
    match = _RANGE.match(text.strip())
    if match is None or match.groups() == ("", ""):
        return "invalid range"
    first, last = match.groups()
    if first and last and int(last) < int(first):
        return "invalid range"
    if isinstance(size, int) and _resolve(text, size) is None:
        return "unsatisfiable range"
    return None


def _resolve(text: str, size: int) -> tuple[int, int] | None:
    """A valid range for an object of ``size`` bytes as (first, last); None: unsatisfiable."""
    first, _, last = text.strip().partition("-")
    if not first:
        count = int(last)
        return (max(0, size - count), size - 1) if count and size else None
    start = int(first)
    if start >= size:
        return None
    return start, min(int(last), size - 1) if last else size - 1


def parse(body: bytes, path: ObjectPath) -> Segments:
    """The client's manifest, validated as Swift does (400 with one line per problem)."""
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Refused(400, "Manifest must be valid JSON.\n") from exc
    if not isinstance(parsed, list):
        raise Refused(400, "Manifest must be a list.\n")
    errors = [e for i, seg in enumerate(parsed) if (e := _check(i, seg, len(parsed), path))]
    if parsed and all(isinstance(s, dict) and "data" in s for s in parsed):
        errors.append("Inline data segments require at least one object-backed segment.")
    if errors:
        raise Refused(400, "".join(e + "\n" for e in errors))
    return parsed


def _check(index: int, seg: object, count: int, path: ObjectPath) -> str | None:
    """Normalise one segment in place; the problem with it, if any."""
    where = f"Index {index}: "
    if not isinstance(seg, dict):
        return where + "not a JSON object"
    kind = "data" if "data" in seg else "path" if "path" in seg else None
    if kind is None:
        return where + "expected keys to include one of 'data' or 'path'"
    allowed = {"data"} if kind == "data" else {"path", "etag", "size_bytes", "range"}
    extra = sorted(k for k in seg if k not in allowed)
    if extra:
        return where + "extraneous keys " + ", ".join(json.dumps(k) for k in extra)
    if kind == "data":
        try:
            data = base64.b64decode(str(seg["data"]), validate=True)
        except (binascii.Error, ValueError):
            return where + "data must be valid base64"
        if not data:
            return where + "too small; each segment must be at least 1 byte."
        seg["data"] = base64.b64encode(data).decode()
        return None
    if not isinstance(seg["path"], str):
        return where + '"path" must be a string'
    if seg.get("etag") is not None and not isinstance(seg["etag"], str):
        return where + '"etag" must be a string or null (if provided)'
    if "/" not in seg["path"].strip("/"):
        return (where + "path does not refer to an object. Path must be of the form "
                "/container/object.")  # fmt: skip
    size = seg.get("size_bytes")
    if size is not None:
        try:
            size = seg["size_bytes"] = int(size)
        except (TypeError, ValueError):
            return where + "invalid size_bytes"
        if size < 1 and index != count - 1:
            return where + "too small; each segment must be at least 1 byte."
    container, _, obj = seg["path"].lstrip("/").partition("/")
    if (path.container, path.obj) == (container, obj):
        return where + "manifest must not include itself as a segment"
    if seg.get("range"):
        problem = _range_error(str(seg["range"]), size)
        if problem:
            return where + problem
    if isinstance(seg.get("etag"), str):
        seg["etag"] = seg["etag"].strip('"')
    return None


def _status(code: int) -> str:
    try:
        return f"{code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def _head(deps: Deps, account: str, name: str, authorize: Authorize | None) -> Reply:
    container, _, obj = name.lstrip("/").partition("/")
    try:
        return large_objects.get(
            deps, ObjectPath(account, container, obj), {}, "HEAD", ReadOptions(authorize=authorize)
        )
    except Refused as exc:
        return Reply(exc.status)
    except TinystackError as exc:
        return Reply(exc.status)


def _modified(header: str) -> str:
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        when = datetime.now(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")


def put(
    deps: Deps, path: ObjectPath, body: bytes, metadata: dict[str, str], etag: str | None,
    authorize: Authorize | None, etag_params: str = "",
) -> tuple[Reply, list[list[str]]]:  # fmt: skip
    """Store the manifest: (201 reply, []) or (400, the problem segments).
    ``etag_params``: more ``; name=value`` for the container row's ETag (the S3 API's
    ``s3_etag``)."""
    if len(body) > MAX_MANIFEST_SIZE:
        raise Refused(413, f"Manifest File > {MAX_MANIFEST_SIZE} bytes")
    parsed = parse(body, path)
    paths = list(dict.fromkeys(str(s["path"]) for s in parsed if "path" in s))
    if sum(1 for s in parsed if "path" in s) > MAX_MANIFEST_SEGMENTS:
        raise Refused(413, f"Number of object-backed segments must be <= {MAX_MANIFEST_SEGMENTS}")
    with ThreadPoolExecutor(HEAD_CONCURRENCY) as pool:
        found = pool.map(lambda p: _head(deps, path.account, p, authorize), paths)
        heads = dict(zip(paths, found, strict=True))
    problems: list[list[str]] = []
    stored: list[dict[str, object]] = []
    total = 0
    for index, seg in enumerate(parsed):
        if "data" in seg:
            stored.append(seg)
            total += len(base64.b64decode(str(seg["data"])))
            continue
        entry, length = _segment(seg, heads[str(seg["path"])], index == len(parsed) - 1, problems)
        if entry is not None:
            stored.append(entry)
            total += length
    if problems:
        return Reply(400), problems
    slo_etag = hashlib.md5(usedforsecurity=False)
    for entry in stored:
        slo_etag.update(large_objects.segment_etag(entry).encode())
    digest = slo_etag.hexdigest()
    if etag and etag.strip('"') != digest:
        raise UnprocessableEntity()
    data = json.dumps(stored).encode()
    data_md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    content_type = metadata.get("Content-Type") or "application/octet-stream"
    meta = {
        **metadata, SLO: "True", SLO_ETAG: digest, SLO_SIZE: str(total),
        OVERRIDE_ETAG: f"{data_md5}; slo_etag={digest}{etag_params}",
        OVERRIDE_TYPE: f"{content_type};swift_bytes={total}",
    }  # fmt: skip
    upload = objects.begin_put(deps, path, meta, len(data), data_md5)
    try:
        upload.write([data])
    except BaseException:
        upload.abort()
        raise
    reply = upload.commit()
    return Reply(reply.status, {**reply.headers, "ETag": f'"{digest}"'}), []


def _segment(
    seg: dict[str, object], head: Reply, last: bool, problems: list[list[str]]
) -> tuple[dict[str, object] | None, int]:
    """What the manifest stores for one object-backed segment, and its length."""
    name = "/" + str(seg["path"]).lstrip("/")
    quoted = urllib.parse.quote(str(seg["path"]))
    if head.status >= 300:
        problems.append([quoted, _status(head.status)])
        return None, 0
    headers = {k.lower(): v for k, v in head.headers.items()}
    size = int(headers.get("content-length", "0"))
    etag = headers.get("etag", "").strip('"')
    length = size
    entry: dict[str, object] = {
        "name": name, "bytes": size, "hash": etag,
        "content_type": headers.get("content-type", "application/octet-stream"),
        "last_modified": _modified(headers.get("last-modified", "")),
    }  # fmt: skip
    if seg.get("range"):
        wanted = _resolve(str(seg["range"]), size)
        if wanted is None:
            problems.append([quoted, "Unsatisfiable Range"])
        elif wanted != (0, size - 1):
            entry["range"] = f"{wanted[0]}-{wanted[1]}"
            length = wanted[1] - wanted[0] + 1
    if length < 1 and not last:
        problems.append([quoted, "Too small; each segment must be at least 1 byte."])
    if seg.get("size_bytes") is not None and seg["size_bytes"] != size:
        problems.append([quoted, "Size Mismatch"])
    if seg.get("etag") is not None and seg["etag"] != etag:
        problems.append([quoted, "Etag Mismatch"])
    if headers.get(SLO.lower(), "").lower() == "true":
        entry["sub_slo"] = True
    return entry, length


def delete(deps: Deps, path: ObjectPath, authorize: bulk.Authorize | None) -> bulk.BulkResult:
    """Delete a manifest's segments (nested manifests' too), then the manifest."""
    return bulk.delete(deps, path.account, _to_delete(deps, path), authorize)


def _to_delete(deps: Deps, path: ObjectPath) -> Iterator[bulk.DeleteItem]:
    pending: list[tuple[str, bool]] = [(f"/{path.container}/{path.obj}", True)]
    while pending:
        if len(pending) > MAX_MANIFEST_SEGMENTS * 10:
            raise bulk.Bulk(400, "Too many buffered slo segments to delete.")
        name, manifest = pending.pop(0)
        if not manifest:
            yield bulk.DeleteItem(name)
            continue
        try:
            pending.extend(_segments_of(deps, path.account, name))
        except Refused as exc:
            yield bulk.DeleteItem(name, (exc.status, exc.body.decode()))
            continue
        pending.append((name, False))  # the manifest goes after its segments


def _segments_of(deps: Deps, account: str, name: str) -> list[tuple[str, bool]]:
    container, _, obj = name.lstrip("/").partition("/")
    found = fetch(deps, Target(account, container, obj), "GET", {})
    if found.status == 404:
        raise Refused(404, "SLO manifest not found")
    if found.status >= 300:
        raise Refused(found.status, "Unable to load SLO manifest or segment.")
    if not large_objects.is_slo(found):
        found.close()
        raise Refused(400, "Not an SLO manifest")
    return [
        (str(seg.get("name", "")), bool(seg.get("sub_slo")))
        for seg in large_objects.load_manifest(found) if "data" not in seg
    ]  # fmt: skip
