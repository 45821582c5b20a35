"""``/v3/users/{user_id}/application_credentials``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.deps import DepsDep, authorize
from tinystack.identity.api.schemas import AppCredBody
from tinystack.identity.api.views import collection, render_application_credential
from tinystack.identity.services import application_credentials as app_creds

PATH = "/v3/users/{user_id}/application_credentials"


def _target(user_id: str) -> dict[str, Any]:
    return {"target": {"user": {"id": user_id}}}


def create(
    request: Request, ctx: ContextDep, deps: DepsDep, user_id: str, body: AppCredBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_application_credential", _target(user_id))
    assert ctx.payload is not None
    new = app_creds.create(deps, user_id, ctx.payload, body.application_credential.attributes())
    rendered = render_application_credential(request, new.credential)
    return {"application_credential": {**rendered, "secret": new.secret}}


def list_creds(
    request: Request, ctx: ContextDep, deps: DepsDep, user_id: str, name: str | None = None
) -> dict[str, Any]:
    authorize(ctx, "identity:list_application_credentials", _target(user_id))
    items = app_creds.list_for_user(deps, user_id, name)
    return collection(request, "application_credentials", items, render_application_credential)


def show(
    request: Request, ctx: ContextDep, deps: DepsDep, user_id: str, cred_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_application_credential", _target(user_id))
    return {
        "application_credential": render_application_credential(
            request, app_creds.show(deps, user_id, cred_id)
        )
    }


def delete(ctx: ContextDep, deps: DepsDep, user_id: str, cred_id: str) -> Response:
    authorize(ctx, "identity:delete_application_credential", _target(user_id))
    assert ctx.payload is not None
    app_creds.delete(deps, user_id, cred_id, ctx.payload)
    return Response(status_code=204)
