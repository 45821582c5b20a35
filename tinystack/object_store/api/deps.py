"""The handlers' dependencies: Deps, and keystoneauth's checks (account ownership, then
container ACLs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from tinystack.common.api.deps import AUTH_REQUIRED, authenticate
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import Forbidden, NotFound, Unauthorized
from tinystack.object_store.api import headers
from tinystack.object_store.api.tempurl import STATE as TEMPURL
from tinystack.object_store.policies.base import OWNER
from tinystack.object_store.services import acl
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.tempurl import Grant

STATE_KEY = "object_store"
READ, LIST, WRITE = "read", "list", "write"


def _deps(request: Request) -> Deps:
    deps: Deps = getattr(request.app.state, STATE_KEY)
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]


@dataclass(frozen=True, slots=True)
class Access:
    """Who was let in: the token's context (None: anonymous) and whether as the owner."""

    ctx: RequestContext | None
    owner: bool


def authorize_account(
    request: Request, deps: Deps, account: str, container: str = "", access: str = ""
) -> Access:
    """The account must be ``<reseller_prefix><project_id>`` (404 otherwise, as Swift
    answers for a foreign prefix). Its owners (``object_store:swift_owner``) may do
    anything; others only what the container's ACLs grant for ``access`` (read, list or
    write in ``container``): 401 without a token (or with an invalid one), else 403."""
    headers.check_path(request)
    grant: Grant | None = request.scope.get("state", {}).get(TEMPURL)
    if grant is not None:  # a temp URL (api/tempurl.py checked it): no token
        if container and grant.allows(account, container):
            return Access(None, False)
        raise Unauthorized(AUTH_REQUIRED)
    ctx = authenticate(request) if request.headers.get("x-auth-token") else None
    prefix = deps.opts.reseller_prefix
    if not account.startswith(prefix) or len(account) == len(prefix):
        raise NotFound()
    if ctx is not None and ctx.allowed(OWNER, {"project_id": account[len(prefix) :]}):
        return Access(ctx, True)
    if container and access:
        caller = acl.Caller(
            project_id=ctx.project_id if ctx else None,
            user_id=ctx.user_id if ctx else None,
            roles=tuple(ctx.roles) if ctx else (),
            referrer=request.headers.get("referer", ""),
        )
        acls = acl.load(deps, account, container)
        if access == WRITE and acl.allows_write(acls, caller):
            return Access(ctx, False)
        if access in (READ, LIST) and acl.allows_read(acls, caller, access == LIST):
            return Access(ctx, False)
    if ctx is None:
        raise Unauthorized(AUTH_REQUIRED)
    raise Forbidden("Access was denied to this resource.")
