"""``/v3/users/{user_id}/application_credentials``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity import models
from tinystack.identity.api.common import (
    Bool,
    Id,
    Name,
    StateDep,
    Strict,
    authorize,
    collection,
    link,
    read_route,
)
from tinystack.identity.core import application_credentials as app_creds

router = APIRouter(tags=["application_credentials"])
PATH = "/v3/users/{user_id}/application_credentials"


class RoleRef(Strict):
    id: Id | None = None
    name: Name | None = None
    domain_id: Id | None = None


class AppCredCreate(Strict):
    name: Name
    secret: str | None = Field(None, min_length=1)
    description: str | None = None
    expires_at: datetime | None = None
    roles: list[RoleRef] | None = None
    unrestricted: Bool = False
    access_rules: list[dict[str, Any]] | None = None


class AppCredBody(Strict):
    application_credential: AppCredCreate


def render(request: Request, c: models.ApplicationCredential) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "user_id": c.user_id,
        "project_id": c.project_id,
        "expires_at": c.expires_at.isoformat() if c.expires_at else None,
        "unrestricted": c.unrestricted,
        "system": None,
        "roles": [
            {"id": r["id"], "name": r["name"], "domain_id": r.get("domain_id")} for r in c.roles
        ],
        "access_rules": list(c.access_rules),
        "links": link(request, f"/v3/users/{c.user_id}/application_credentials/{c.id}"),
    }


def _target(user_id: str) -> dict[str, Any]:
    return {"target": {"user": {"id": user_id}}}


@router.post(PATH, status_code=201)
def create(
    request: Request, ctx: ContextDep, st: StateDep, user_id: str, body: AppCredBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_application_credential", _target(user_id))
    assert ctx.payload is not None
    data = body.application_credential.model_dump(exclude_unset=True)
    if body.application_credential.roles is not None:
        data["roles"] = [r.model_dump(exclude_none=True) for r in body.application_credential.roles]
    cred, secret = app_creds.create(st, user_id, ctx.payload, data)
    return {"application_credential": {**render(request, cred), "secret": secret}}


@read_route(router, PATH)
def list_creds(
    request: Request, ctx: ContextDep, st: StateDep, user_id: str, name: str | None = None
) -> dict[str, Any]:
    authorize(ctx, "identity:list_application_credentials", _target(user_id))
    items = app_creds.list_for_user(st, user_id, name)
    return collection(request, "application_credentials", items, render)


@read_route(router, PATH + "/{cred_id}")
def show(
    request: Request, ctx: ContextDep, st: StateDep, user_id: str, cred_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_application_credential", _target(user_id))
    return {"application_credential": render(request, app_creds.show(st, user_id, cred_id))}


@router.delete(PATH + "/{cred_id}", status_code=204)
def delete(ctx: ContextDep, st: StateDep, user_id: str, cred_id: str) -> Response:
    authorize(ctx, "identity:delete_application_credential", _target(user_id))
    assert ctx.payload is not None
    app_creds.delete(st, user_id, cred_id, ctx.payload)
    return Response(status_code=204)
