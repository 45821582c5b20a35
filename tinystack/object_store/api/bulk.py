"""Bulk requests, as Swift's bulk middleware answers them: ``POST`` or ``DELETE
/v1/<account>?bulk-delete`` and ``PUT /v1/<account>[/<container>[/<prefix>]]
?extract-archive=tar|tar.gz|tar.bz2``. The HTTP status is 200 whatever happened; the
body (text, JSON or XML by ``Accept``) carries ``Response Status``, the counts and the
``Errors``. The work is services/bulk.py's."""

from __future__ import annotations

import json
import re
import tempfile
from xml.sax.saxutils import escape

import anyio
from starlette.requests import Request
from starlette.responses import Response

from tinystack.object_store.api import accounts, containers
from tinystack.object_store.api.deps import DepsDep, authorize_account
from tinystack.object_store.api.replies import Failed
from tinystack.object_store.services import bulk
from tinystack.object_store.services.bulk import Bulk, BulkResult
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.reads import Refused

FORMATS = ("text/plain", "application/json", "application/xml", "text/xml")
#: a delete body longer than this has more names than a request may delete
MAX_DELETE_BODY = (bulk.MAX_DELETES_PER_REQUEST + 1) * bulk.MAX_PATH * 3
SPOOL_IN_MEMORY = 16 * 1024 * 1024


def wanted_format(request: Request) -> str | None:
    """The first of FORMATS the Accept header allows (as swob's best_match); None: 406."""
    accept = request.headers.get("accept", "")
    patterns = []
    for part in accept.split(","):
        media = part.split(";")[0].strip()
        if media:
            patterns.append(re.escape(media).replace(r"\*", "[a-zA-Z0-9_+.-]+"))
    if not patterns:
        return FORMATS[0]
    for pattern in patterns:
        for option in FORMATS:
            if re.fullmatch(pattern, option):
                return option
    return None


def render(fmt: str, data: dict[str, object], errors: list[list[str]], root: str) -> bytes:
    """Swift's bulk body: JSON, XML (``root`` element) or ``Key: value`` lines."""
    if fmt == "application/json":
        return json.dumps({**data, "Errors": errors}).encode()
    if fmt.endswith("/xml"):
        out = [f"<{root}>\n"]
        for key in sorted(data):
            tag = key.replace(" ", "_").lower()
            out.append(f"<{tag}>{escape(str(data[key]))}</{tag}>\n")
        out.append("<errors>\n")
        for name, status in errors:
            out.append(f"<object><name>{escape(name)}</name><status>{escape(status)}"
                       "</status></object>\n")  # fmt: skip
        out.append(f"</errors>\n</{root}>\n")
        return "".join(out).encode()
    lines = [f"{key}: {data[key]}\n" for key in sorted(data)]
    lines.append("Errors:\n")
    lines += [f"{name}, {status}\n" for name, status in errors]
    return "".join(lines).encode()


def result_response(fmt: str, result: BulkResult, kind: str) -> Response:
    data: dict[str, object] = {"Response Status": result.status, "Response Body": result.body}
    if kind == "delete":
        data.update({"Number Deleted": result.deleted, "Number Not Found": result.not_found})
    else:
        data["Number Files Created"] = result.created
    return Response(render(fmt, data, result.errors, kind), status_code=200, media_type=fmt)


def _failed(fmt: str, kind: str, code: int, body: str = "") -> Response:
    result = BulkResult(status=bulk.status_line(code), body=body)
    return result_response(fmt, result, kind)


async def delete(request: Request, deps: Deps, account: str) -> Response:
    """``?bulk-delete``: a newline-separated list of URL-encoded names."""
    fmt = wanted_format(request)
    if fmt is None:
        return Response(status_code=406)
    kind = request.headers.get("content-type")
    if kind and not kind.startswith("text/plain"):
        return _failed(fmt, "delete", 406)
    if request.headers.get("content-length") is None and (
        "chunked" not in request.headers.get("transfer-encoding", "").lower()
    ):
        return _failed(fmt, "delete", 411)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_DELETE_BODY:
            return _failed(fmt, "delete", 413, "Maximum Bulk Deletes: "
                           f"{bulk.MAX_DELETES_PER_REQUEST} per request")  # fmt: skip
    try:
        items = bulk.parse_delete_body(body)
    except Bulk as exc:
        return _failed(fmt, "delete", exc.code, exc.body)
    result = await anyio.to_thread.run_sync(bulk.delete, deps, account, items)
    return result_response(fmt, result, "delete")


async def extract(request: Request, deps: Deps, account: str, base: str) -> Response:
    """``?extract-archive=``: the body is spooled, checked whole, then unpacked."""
    mode = bulk.MODES.get(request.query_params.get("extract-archive", "").lower().strip("."))
    if mode is None:
        raise Refused(400, "Unsupported archive format")
    fmt = wanted_format(request)
    if fmt is None:
        return Response(status_code=406)
    if request.headers.get("content-length") is None and (
        "chunked" not in request.headers.get("transfer-encoding", "").lower()
    ):
        return _failed(fmt, "extract", 411)
    meta = {k.title(): v for k, v in request.headers.items() if k.startswith("x-object-meta-")}
    with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY) as spool:
        received = 0
        async for chunk in request.stream():
            received += len(chunk)
            if received > deps.opts.max_file_size:
                return _failed(fmt, "extract", 413)
            await anyio.to_thread.run_sync(spool.write, chunk)
        result = await anyio.to_thread.run_sync(
            bulk.extract, deps, account, base, spool, mode, meta
        )
    return result_response(fmt, result, "extract")


# -- the routes bulk requests reach ------------------------------------------------------
async def post_account(account: str, request: Request, deps: DepsDep) -> Response:
    if "bulk-delete" not in request.query_params:
        return await anyio.to_thread.run_sync(accounts.post_account, account, request, deps)
    await anyio.to_thread.run_sync(authorize_account, request, deps, account)
    return await delete(request, deps, account)


async def put_container(account: str, container: str, request: Request, deps: DepsDep) -> Response:
    if "extract-archive" not in request.query_params:
        return await anyio.to_thread.run_sync(
            containers.put_container, account, container, request, deps
        )
    await anyio.to_thread.run_sync(authorize_account, request, deps, account)
    return await extract(request, deps, account, container)


async def put_account(account: str, request: Request, deps: DepsDep) -> Response:
    await anyio.to_thread.run_sync(authorize_account, request, deps, account)
    if "extract-archive" not in request.query_params:
        raise Failed(405)
    return await extract(request, deps, account, "")


async def delete_account(account: str, request: Request, deps: DepsDep) -> Response:
    await anyio.to_thread.run_sync(authorize_account, request, deps, account)
    if "bulk-delete" not in request.query_params:
        raise Failed(405)
    return await delete(request, deps, account)
