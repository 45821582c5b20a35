"""``/v3/OS-OAUTH1``: consumers, request tokens, authorization, access tokens; and a user's
access tokens (``/v3/users/{user_id}/OS-OAUTH1/access_tokens``)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.timeutils import isotime_micro
from tinystack.identity.api.delegation_schemas import (
    AuthorizeBody,
    ConsumerBody,
    ConsumerUpdateBody,
)
from tinystack.identity.api.deps import DepsDep, SignedDep, authorize
from tinystack.identity.api.views import (
    collection,
    render_access_token,
    render_consumer,
    role_ref,
)
from tinystack.identity.services import oauth1

FORM = "application/x-www-form-urlencoded"


def _form(issued: oauth1.IssuedSecret) -> Response:
    fields = {"oauth_token": issued.key, "oauth_token_secret": issued.secret}
    if issued.expires_at is not None:
        fields["oauth_expires_at"] = isotime_micro(issued.expires_at)
    return Response(urllib.parse.urlencode(fields), status_code=201, media_type=FORM)


# -- consumers -------------------------------------------------------------------------------


def create_consumer(
    request: Request, ctx: ContextDep, deps: DepsDep, body: ConsumerBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_consumer")
    new = oauth1.create_consumer(deps, body.consumer.description, body.consumer.extra())
    return {"consumer": {**render_consumer(request, new.consumer), "secret": new.secret}}


def list_consumers(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:list_consumers")
    return collection(request, "consumers", oauth1.list_consumers(deps), render_consumer)


def show_consumer(
    request: Request, ctx: ContextDep, deps: DepsDep, consumer_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_consumer")
    return {"consumer": render_consumer(request, oauth1.show_consumer(deps, consumer_id))}


def update_consumer(
    request: Request, ctx: ContextDep, deps: DepsDep, consumer_id: str, body: ConsumerUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_consumer")
    extra = body.consumer.extra(consumer_id)
    given = "description" in body.consumer.model_fields_set
    updated = oauth1.update_consumer(deps, consumer_id, body.consumer.description, given, extra)
    return {"consumer": render_consumer(request, updated)}


def delete_consumer(ctx: ContextDep, deps: DepsDep, consumer_id: str) -> Response:
    authorize(ctx, "identity:delete_consumer")
    oauth1.delete_consumer(deps, consumer_id)
    return Response(status_code=204)


# -- the delegation flow (signed by the consumer, no token) ----------------------------------


def request_token(request: Request, deps: DepsDep, signed: SignedDep) -> Response:
    project_id = request.headers.get("requested-project-id")
    return _form(oauth1.create_request_token(deps, signed, project_id))


def authorize_request_token(
    ctx: ContextDep, deps: DepsDep, request_token_id: str, body: AuthorizeBody
) -> dict[str, Any]:
    authorize(ctx, "identity:authorize_request_token")
    verifier = oauth1.authorize_request_token(deps, ctx, request_token_id, body.specs())
    return {"token": {"oauth_verifier": verifier}}


def access_token(deps: DepsDep, signed: SignedDep) -> Response:
    return _form(oauth1.create_access_token(deps, signed))


# -- a user's access tokens ------------------------------------------------------------------


def list_access_tokens(
    request: Request, ctx: ContextDep, deps: DepsDep, user_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:list_access_tokens")
    items = oauth1.list_access_tokens(deps, ctx, user_id)
    return collection(request, "access_tokens", items, render_access_token)


def show_access_token(
    request: Request, ctx: ContextDep, deps: DepsDep, user_id: str, access_token_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_access_token")
    found = oauth1.show_access_token(deps, ctx, user_id, access_token_id)
    return {"access_token": render_access_token(request, found)}


def delete_access_token(
    ctx: ContextDep, deps: DepsDep, user_id: str, access_token_id: str
) -> Response:
    authorize(ctx, "identity:delete_access_token")
    oauth1.delete_access_token(deps, ctx, user_id, access_token_id)
    return Response(status_code=204)


def list_access_token_roles(
    request: Request, ctx: ContextDep, deps: DepsDep, user_id: str, access_token_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:list_access_token_roles")
    roles = oauth1.access_token_roles(deps, user_id, access_token_id)
    return collection(request, "roles", roles, role_ref)


def show_access_token_role(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    user_id: str,
    access_token_id: str,
    role_id: str,
) -> dict[str, Any]:
    authorize(ctx, "identity:get_access_token_role")
    role = oauth1.access_token_role(deps, user_id, access_token_id, role_id)
    return {"role": role_ref(request, role)}
