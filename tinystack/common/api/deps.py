"""FastAPI dependencies: the authenticated request context.

Validation is local: decrypt the Fernet token with the shared keys and check
the revocation list. Both are in memory, so the dependency is ``async`` and
never leaves the event loop. A token from an application credential with access
rules is accepted only for the requests its rules allow (``state.service_type`` names
the service), unless a valid service token (``X-Service-Token``) accompanies it, as
keystonemiddleware does.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from tinystack.common.api.app import request_id
from tinystack.common.auth import access_rules
from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.revocation import RevocationList
from tinystack.common.auth.tokens import TokenCodec, TokenPayload
from tinystack.common.exceptions import NotFound, Unauthorized

AUTH_REQUIRED = "The request you have made requires authentication."
#: roles that make an ``X-Service-Token`` a service token (keystonemiddleware's default)
SERVICE_TOKEN_ROLES = frozenset({"service"})


def _valid_service_token(request: Request, codec: TokenCodec, revocations: RevocationList) -> bool:
    token = request.headers.get("x-service-token")
    if not token:
        return False
    try:
        payload = codec.decode(token)
    except NotFound:
        return False
    if revocations.is_revoked(payload):
        return False
    return bool(SERVICE_TOKEN_ROLES & {r.lower() for r in payload.role_names})


def _check_access_rules(request: Request, payload: TokenPayload) -> None:
    """Refuse (401) a request an application credential's access rules do not allow."""
    if payload.access_rules is None:
        return
    state = request.app.state
    service_type: str | None = getattr(state, "service_type", None)
    if access_rules.allows(payload.access_rules, service_type, request.method, request.url.path):
        return
    if _valid_service_token(request, state.token_codec, state.revocations):
        return
    raise Unauthorized(AUTH_REQUIRED)


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
    _check_access_rules(request, payload)
    request.state.project_id = payload.project_id  # for the access log line
    return RequestContext(
        request_id=request_id(request), token=token, payload=payload, policy=state.policy
    )


async def _require_context(request: Request) -> RequestContext:
    return authenticate(request)


ContextDep = Annotated[RequestContext, Depends(_require_context)]
