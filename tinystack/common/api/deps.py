"""FastAPI dependencies: the authenticated request context.

Validation is local: decrypt the Fernet token with the shared keys and check
the revocation list. Both are in memory, so the dependency is ``async`` and
never leaves the event loop.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from tinystack.common.api.app import request_id
from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.revocation import RevocationList
from tinystack.common.auth.tokens import TokenCodec
from tinystack.common.exceptions import Unauthorized

AUTH_REQUIRED = "The request you have made requires authentication."


def authenticate(request: Request) -> RequestContext:
    """Build the context from ``X-Auth-Token``; raise 401 when it is missing or invalid."""
    token = request.headers.get("x-auth-token")
    if not token:
        raise Unauthorized(AUTH_REQUIRED)
    state = request.app.state
    codec: TokenCodec = state.token_codec
    revocations: RevocationList = state.revocations
    payload = codec.validate_for_request(token)
    if revocations.is_revoked(payload):
        raise Unauthorized(AUTH_REQUIRED)
    return RequestContext(
        request_id=request_id(request), token=token, payload=payload, policy=state.policy
    )


async def _require_context(request: Request) -> RequestContext:
    return authenticate(request)


ContextDep = Annotated[RequestContext, Depends(_require_context)]
