"""``/v3/credentials``, EC2 credentials (``/v3/users/{user_id}/credentials/OS-EC2``) and
the tokens they authenticate into (``/v3/ec2tokens``, ``/v3/s3tokens``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.delegation_schemas import (
    CredentialBody,
    CredentialUpdateBody,
    Ec2CredentialBody,
    Ec2TokensBody,
)
from tinystack.identity.api.deps import DepsDep
from tinystack.identity.api.views import (
    collection,
    render_credential,
    render_ec2_credential,
    render_token,
)
from tinystack.identity.services import credentials, ec2_credentials, ec2tokens


def create_credential(
    request: Request, ctx: ContextDep, deps: DepsDep, body: CredentialBody
) -> dict[str, Any]:
    created = credentials.create(deps, ctx, body.credential.fields())
    return {"credential": render_credential(request, created)}


def list_credentials(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    user_id: str | None = None,
    type: str | None = None,
) -> dict[str, Any]:
    items = credentials.list_credentials(deps, ctx, user_id, type)
    return collection(request, "credentials", items, render_credential)


def show_credential(
    request: Request, ctx: ContextDep, deps: DepsDep, credential_id: str
) -> dict[str, Any]:
    return {"credential": render_credential(request, credentials.show(deps, ctx, credential_id))}


def update_credential(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    credential_id: str,
    body: CredentialUpdateBody,
) -> dict[str, Any]:
    data = body.credential.fields(credential_id)
    updated = credentials.update(deps, ctx, credential_id, data)
    return {"credential": render_credential(request, updated)}


def delete_credential(ctx: ContextDep, deps: DepsDep, credential_id: str) -> Response:
    credentials.delete_credential(deps, ctx, credential_id)
    return Response(status_code=204)


# -- OS-EC2 ----------------------------------------------------------------------------------


def create_ec2_credential(
    request: Request, ctx: ContextDep, deps: DepsDep, user_id: str, body: Ec2CredentialBody
) -> dict[str, Any]:
    created = ec2_credentials.create(deps, ctx, user_id, body.tenant_id)
    return {"credential": render_ec2_credential(request, created)}


def list_ec2_credentials(
    request: Request, ctx: ContextDep, deps: DepsDep, user_id: str
) -> dict[str, Any]:
    items = ec2_credentials.list_for_user(deps, ctx, user_id)
    return collection(request, "credentials", items, render_ec2_credential)


def show_ec2_credential(
    request: Request, ctx: ContextDep, deps: DepsDep, user_id: str, credential_id: str
) -> dict[str, Any]:
    found = ec2_credentials.show(deps, ctx, user_id, credential_id)
    return {"credential": render_ec2_credential(request, found)}


def delete_ec2_credential(
    ctx: ContextDep, deps: DepsDep, user_id: str, credential_id: str
) -> Response:
    ec2_credentials.delete(deps, ctx, user_id, credential_id)
    return Response(status_code=204)


# -- signed requests into tokens -------------------------------------------------------------


def ec2_token(ctx: ContextDep, deps: DepsDep, body: Ec2TokensBody) -> JSONResponse:
    issued = ec2tokens.ec2tokens(deps, ctx, body.model_dump(exclude_none=True))
    return JSONResponse(render_token(issued.token), headers={"X-Subject-Token": issued.id})


def s3_token(ctx: ContextDep, deps: DepsDep, body: Ec2TokensBody) -> JSONResponse:
    issued = ec2tokens.s3tokens(deps, ctx, body.model_dump(exclude_none=True))
    return JSONResponse(render_token(issued.token), headers={"X-Subject-Token": issued.id})
