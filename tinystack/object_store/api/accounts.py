"""Account handlers: HEAD, GET (container listing), POST (metadata)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tinystack.object_store.api import headers, listing
from tinystack.object_store.api.deps import DepsDep, authorize_account
from tinystack.object_store.api.replies import respond
from tinystack.object_store.policies.base import RESELLER
from tinystack.object_store.services import account_quotas, accounts, versioning


def head_account(account: str, request: Request, deps: DepsDep) -> Response:
    authorize_account(request, deps, account)
    return respond(accounts.head(deps, account), 204)


def get_account(account: str, request: Request, deps: DepsDep) -> Response:
    authorize_account(request, deps, account)
    query = listing.backend_query(request, deps.opts.listing_limit)
    query = versioning.listing_query(query)  # hidden (versions) containers are not listed
    reply, entries = accounts.listing(deps, account, query)
    if reply.status >= 300:
        return respond(reply)
    return listing.render(request, "account", account, reply, entries)


def post_account(account: str, request: Request, deps: DepsDep) -> Response:
    ctx = authorize_account(request, deps, account).ctx
    meta = headers.metadata(request, "account")
    reseller = ctx is not None and ctx.allowed(RESELLER, {})
    meta.update(account_quotas.account_metadata(request.headers, reseller))
    account_quotas.forget(deps, account)
    reply = accounts.post(deps, account, meta)
    account_quotas.forget(deps, account)  # in every proxy process, now that it is stored
    return respond(reply)
