"""The handlers' dependencies: Deps, and keystoneauth's account check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from tinystack.common.api.deps import authenticate
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import Forbidden, NotFound
from tinystack.object_store.policies.base import OWNER
from tinystack.object_store.services.deps import Deps

STATE_KEY = "object_store"


def _deps(request: Request) -> Deps:
    deps: Deps = getattr(request.app.state, STATE_KEY)
    return deps


DepsDep = Annotated[Deps, Depends(_deps)]


def authorize_account(request: Request, deps: Deps, account: str) -> RequestContext:
    """401 without a valid token; the account must be ``<reseller_prefix><project_id>``
    (404 otherwise, as Swift answers for a foreign prefix); 403 unless the caller owns it
    (``object_store:swift_owner``)."""
    ctx = authenticate(request)
    prefix = deps.opts.reseller_prefix
    if not account.startswith(prefix) or len(account) == len(prefix):
        raise NotFound()
    target = {"project_id": account[len(prefix) :]}
    if not ctx.allowed(OWNER, target):
        raise Forbidden("Access was denied to this resource.")
    return ctx
