"""Container handlers: PUT, HEAD, GET (object listing), POST, DELETE."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tinystack.object_store.api import headers, listing, versions
from tinystack.object_store.api.deps import LIST, DepsDep, authorize_account
from tinystack.object_store.api.replies import respond
from tinystack.object_store.services import accounts, containers, versioning
from tinystack.object_store.services.records import Reply

#: what marks a container row whose JSON the proxy must rewrite (api/listing._overrides,
#: versioning.clean_entries)
OVERRIDE_MARKS = (b"swift_bytes=", b"slo_etag=", b"symlink_target", b"swift_versions_id=")


def put_container(account: str, container: str, request: Request, deps: DepsDep) -> Response:
    authorize_account(request, deps, account)
    headers.check_container(container)
    accounts.check_policy(request.headers)
    meta = headers.metadata(request, "container")
    meta.update(versioning.container_metadata(deps, account, container, request.headers))
    return respond(containers.put(deps, account, container, meta))


def _for_caller(reply: Reply, owner: bool) -> Reply:
    """Only owners see a container's ACLs (as keystoneauth hides them)."""
    if owner:
        return reply
    hidden = ("x-container-read", "x-container-write", "x-container-meta-temp-url-key",
              "x-container-meta-temp-url-key-2")  # fmt: skip
    shown = {k: v for k, v in reply.headers.items() if k.lower() not in hidden}
    return Reply(reply.status, shown, reply.body, reply.stream)


def head_container(account: str, container: str, request: Request, deps: DepsDep) -> Response:
    owner = authorize_account(request, deps, account, container, LIST).owner
    reply = versioning.container_reply(deps, account, container,
                                       containers.head(deps, account, container))  # fmt: skip
    return respond(_for_caller(reply, owner), 204)


def get_container(account: str, container: str, request: Request, deps: DepsDep) -> Response:
    owner = authorize_account(request, deps, account, container, LIST).owner
    query = listing.backend_query(request, deps.opts.listing_limit)
    plain_json = listing.wanted_format(request) == "json" and not (
        request.query_params.get("delimiter") or "versions" in request.query_params
    )
    if plain_json:
        found = containers.listing_json(deps, account, container, query)
        found = _for_caller(versioning.container_reply(deps, account, container, found), owner)
        if found.status >= 300:
            return respond(found)
        # rows of large objects, symlinks and versions carry overrides only the proxy's
        # rendering turns back into what Swift shows: those listings take the slow path
        if not any(mark in found.body for mark in OVERRIDE_MARKS):
            shown = {k: v for k, v in found.headers.items() if k.lower() != "content-type"}
            media = {"Content-Type": "application/json; charset=utf-8"}
            return Response(found.body, status_code=200, headers={**shown, **media})
    reply, entries = containers.listing(deps, account, container, query)
    reply = _for_caller(versioning.container_reply(deps, account, container, reply), owner)
    if reply.status >= 300:
        return respond(reply)
    if "versions" in request.query_params:
        return versions.listing_response(request, deps, account, container, reply)
    entries = versioning.clean_entries(entries)
    return listing.render(request, "container", container, reply, entries)


def post_container(account: str, container: str, request: Request, deps: DepsDep) -> Response:
    authorize_account(request, deps, account)
    meta = headers.metadata(request, "container")
    meta.update(versioning.container_metadata(deps, account, container, request.headers))
    return respond(containers.post(deps, account, container, meta))


def delete_container(account: str, container: str, request: Request, deps: DepsDep) -> Response:
    authorize_account(request, deps, account)
    hidden = versioning.before_container_delete(deps, account, container)
    reply = containers.delete(deps, account, container)
    if reply.status < 300:
        versioning.after_container_delete(deps, account, hidden)
    return respond(reply)
