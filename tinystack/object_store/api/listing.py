"""Listings as Swift renders them: ``format=json|xml|plain`` (or the Accept header), the
backend query (limit capped at the listing limit, markers, prefix, delimiter, reverse)."""

from __future__ import annotations

import json
import urllib.parse
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.exceptions import BadRequest, PreconditionFailed
from tinystack.object_store.services.records import ListingEntry, Reply

PARAMS = ("marker", "end_marker", "prefix", "delimiter", "reverse")


def backend_query(request: Request, listing_limit: int) -> str:
    q = request.query_params
    limit = listing_limit
    if "limit" in q:
        try:
            limit = int(q["limit"])
        except ValueError as exc:
            raise PreconditionFailed("Value of limit must be a positive integer") from exc
        if limit < 0:
            raise PreconditionFailed("Value of limit must be a positive integer")
        if limit > listing_limit:
            raise PreconditionFailed(f"Maximum limit is {listing_limit}")
    delimiter = q.get("delimiter", "")
    if len(delimiter) > 1:
        raise PreconditionFailed("Bad delimiter")
    params = {"limit": str(limit), **{k: q[k] for k in PARAMS if k in q}}
    return urllib.parse.urlencode(params)


def wanted_format(request: Request) -> str:
    fmt = request.query_params.get("format", "").lower()
    if fmt in ("json", "xml", "plain"):
        return fmt
    if fmt:
        raise BadRequest("Invalid format")
    accept = request.headers.get("accept", "")
    if "application/json" in accept:
        return "json"
    if "xml" in accept:
        return "xml"
    return "plain"


def _modified(timestamp: str) -> str:
    when = datetime.fromtimestamp(float(timestamp), UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")


def json_row(kind: str, e: ListingEntry, account: str = "") -> dict[str, object]:
    if e.subdir:
        return {"subdir": e.name}
    if kind == "account":
        return {"name": e.name, "count": e.count_or_size, "bytes": int(e.bytes_or_type),
                "last_modified": _modified(e.timestamp)}  # fmt: skip
    row: dict[str, object] = {"hash": e.etag, "last_modified": _modified(e.timestamp),
                              "bytes": e.count_or_size, "name": e.name,
                              "content_type": e.bytes_or_type}  # fmt: skip
    _overrides(row, e, account)
    return row


def _params(value: str) -> tuple[str, list[tuple[str, str]]]:
    head, *rest = value.split(";")
    pairs = [p.strip().partition("=") for p in rest]
    return head.strip(), [(k, v) for k, _, v in pairs if k]


def _overrides(row: dict[str, object], e: ListingEntry, account: str) -> None:
    """What a large object or a symlink stored in its row (see services.slo_manifests and
    services.symlinks): ``swift_bytes`` in the content type, ``slo_etag`` and the
    ``symlink_target*`` parameters in the etag, shown as Swift's slo and symlink
    middlewares show them."""
    if ";" in e.bytes_or_type:
        ctype, params = _params(e.bytes_or_type)
        kept = [(k, v) for k, v in params if k != "swift_bytes"]
        for k, v in params:
            if k == "swift_bytes" and v.isdigit():
                row["bytes"] = int(v)
        row["content_type"] = ctype + "".join(f";{k}={v}" for k, v in kept)
    if ";" not in e.etag:
        return
    etag, params = _params(e.etag)
    target = ""
    kept = []
    for key, value in params:
        if key == "slo_etag":
            row["slo_etag"] = f'"{value}"'
        elif key == "symlink_target":
            target = value
        elif key == "symlink_target_account":
            account = value
        elif key == "symlink_target_etag":
            row["symlink_etag"] = value
        elif key == "symlink_target_bytes" and value.isdigit():
            row["symlink_bytes"] = int(value)
        else:
            kept.append((key, value))
    row["hash"] = etag + "".join(f"; {k}={v}" for k, v in kept)
    if target:
        row["symlink_path"] = f"/v1/{account}/{target}"


def _xml(kind: str, name: str, entries: list[ListingEntry], account: str = "") -> str:
    item = "container" if kind == "account" else "object"
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f"<{kind} name={quoteattr(name)}>"]
    for e in entries:
        if e.subdir:
            out.append(f"<subdir name={quoteattr(e.name)}><name>{escape(e.name)}</name></subdir>")
            continue
        fields = json_row(kind, e, account)
        inner = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fields.items())
        out.append(f"<{item}>{inner}</{item}>")
    out.append(f"</{kind}>")
    return "\n".join(out)


def render(
    request: Request, kind: str, name: str, reply: Reply, entries: list[ListingEntry]
) -> Response:
    fmt = wanted_format(request)
    account = request.path_params.get("account", "")
    headers = dict(reply.headers)
    headers.pop("Content-Type", None)
    if fmt == "json":
        body = json.dumps([json_row(kind, e, account) for e in entries])
        media = "application/json; charset=utf-8"
    elif fmt == "xml":
        body = _xml(kind, name, entries, account)
        media = "application/xml; charset=utf-8"
    else:
        if not entries:
            return Response(status_code=204, headers={**headers,
                            "Content-Type": "text/plain; charset=utf-8"})  # fmt: skip
        body = "".join(e.name + "\n" for e in entries)
        media = "text/plain; charset=utf-8"
    return Response(body, status_code=200, headers={**headers, "Content-Type": media})
