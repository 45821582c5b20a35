"""The handlers' side of object versioning (``services/versioning.py``): the
``version-id`` query parameter of object requests, ``?versions`` listings (JSON, as
Swift answers them) and the versioned container's headers."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.exceptions import BadRequest
from tinystack.object_store.api import listing
from tinystack.object_store.services import versioning
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.objects import ObjectPath
from tinystack.object_store.services.records import Reply


def version_id(request: Request) -> str | None:
    """The request's ``version-id`` (None when absent or empty, as Swift ignores it)."""
    return request.query_params.get("version-id") or None


def read(
    request: Request, deps: Deps, path: ObjectPath, conditions: dict[str, str], method: str,
    plain: Callable[[], Reply],
) -> Reply:  # fmt: skip
    """GET or HEAD of one of an object's versions with ``?version-id=``, else ``plain()``
    (the current object, as the other features read it) with its version id."""
    wanted = version_id(request)
    if wanted is not None:
        return versioning.read(deps, path, wanted, conditions, method)
    reply = plain()
    if versioning.state(deps, path.account, path.container).versioned:
        return versioning.shown(reply)
    return reply


def delete(request: Request, deps: Deps, path: ObjectPath) -> Reply:
    wanted = version_id(request)
    if wanted is not None:
        return versioning.delete_version(deps, path, wanted)
    return versioning.delete(deps, path)


def refuse_post(request: Request) -> None:
    if version_id(request) is not None:
        raise BadRequest("POST to a specific version is not allowed")


def listing_response(
    request: Request, deps: Deps, account: str, container: str, owner_headers: Reply
) -> Response:
    """``GET <container>?versions``: a JSON list of every version, with ``version_id``
    and ``is_latest``."""
    query = dict(request.query_params)
    backend = urllib.parse.parse_qs(listing.backend_query(request, deps.opts.listing_limit))
    limit = int(backend["limit"][0])
    reply, rows = versioning.list_versions(deps, account, container, query, limit)
    if reply.status >= 300:
        return Response(status_code=reply.status)
    body: list[dict[str, object]] = []
    for row in rows:
        if row.entry.subdir:
            body.append({"subdir": row.entry.name})
            continue
        item = listing.json_row("container", row.entry, account)
        item.update(version_id=row.version_id, is_latest=row.is_latest)
        body.append(item)
    headers = {k: v for k, v in owner_headers.headers.items() if k.lower() != "content-type"}
    return Response(json.dumps(body), 200, headers, "application/json; charset=utf-8")
