"""The dashboard's FastAPI dependencies: Deps, and the session of the request.

A session is the signed cookie (``session``) holding a Keystone token; the token is then
validated as every service does (decrypted with the shared keys, unexpired, not revoked),
which gives the request context policies are checked with. Cookies are ``HttpOnly`` and
``SameSite=Strict`` and a state-changing request must come from the dashboard's own
origin (its ``Origin``, else ``Referer``, names this host): no cross-site request forgery.
"""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.app import request_id
from tinystack.common.auth.context import RequestContext
from tinystack.dashboard.exception import CrossSiteRequest
from tinystack.dashboard.services import sessions
from tinystack.dashboard.services.deps import Deps
from tinystack.dashboard.services.records import Session

STATE_KEY = "dashboard_deps"
COOKIE = "session"
EXPIRES_COOKIE = "time_expired"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def get_deps(request: Request) -> Deps:
    deps: Deps = getattr(request.app.state, STATE_KEY)
    return deps


DepsDep = Annotated[Deps, Depends(get_deps)]


def same_origin(request: Request) -> None:
    """Refuse a state-changing request another site's page sent (CSRF)."""
    if request.method in SAFE:
        return
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return  # not a browser: no ambient credentials were forged
    host = request.headers.get("host", "")
    if urlsplit(source).netloc != host:
        raise CrossSiteRequest("Cross-site request refused.")


def session_context(request: Request) -> tuple[Session, RequestContext]:
    same_origin(request)
    deps = get_deps(request)
    session, payload = sessions.check(deps, request.cookies.get(COOKIE))
    state = request.app.state
    ctx = RequestContext(request_id(request), session.token, payload, state.policy)
    request.state.renewed = sessions.renewed(deps, session)
    return session, ctx


async def _context(request: Request) -> RequestContext:
    return session_context(request)[1]


async def _session(request: Request) -> Session:
    return session_context(request)[0]


#: the caller's context, from the session cookie (401 without a valid one)
SessionContextDep = Annotated[RequestContext, Depends(_context)]
#: the caller's session itself (login-related routes)
SessionDep = Annotated[Session, Depends(_session)]


def set_session(response: Response, deps: Deps, session: Session, secure: bool) -> None:
    max_age = max(0, session.expires - int(time.time()))
    response.set_cookie(
        COOKIE, deps.signer.dumps(session), max_age=max_age, httponly=True,
        samesite="strict", secure=secure, path="/",
    )  # fmt: skip
    response.set_cookie(EXPIRES_COOKIE, str(session.expires), max_age=max_age, samesite="strict",
                        secure=secure, path="/")  # fmt: skip


def clear_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")
    response.delete_cookie(EXPIRES_COOKIE, path="/")
