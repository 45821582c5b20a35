"""``/os-keypairs``: list, show, create or import, delete."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.compute.api.bodies import body_part, gate
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.query import limit_and_marker, reject_unknown
from tinystack.compute.api.rendering import json_response, next_link, plain_time
from tinystack.compute.api.schemas import KeypairCreate, KeypairCreateRequest
from tinystack.compute.services import keypairs
from tinystack.compute.services.keypairs import KeyPairRecord

router = APIRouter(tags=["keypairs"])
P = "os_compute_api:os-keypairs:%s"


def _check_name(name: str, version: Version) -> None:
    pattern = r"[_\-@. a-zA-Z0-9]+" if version >= (2, 92) else r"[_\- a-zA-Z0-9]+"
    if not re.fullmatch(pattern, name):
        raise BadRequest(
            f"Invalid input for field/attribute name. Value: {name}. '{name}' does not match "
            f"'^{pattern}$'"
        )


def _view(kp: KeyPairRecord, version: Version) -> dict[str, Any]:
    view: dict[str, Any] = {
        "name": kp.name,
        "public_key": kp.public_key,
        "fingerprint": kp.fingerprint,
    }
    if version >= (2, 2):
        view["type"] = kp.type
    return view


def _user(request: Request, ctx: RequestContext, version: Version) -> str:
    if version >= (2, 10):
        return request.query_params.get("user_id") or ctx.user_id or ""
    return ctx.user_id or ""


@router.get("/os-keypairs", openapi_extra=policies(P % "index"))
def list_keypairs(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    allowed = {"user_id"} if version >= (2, 10) else set()
    if version >= (2, 35):
        allowed |= {"limit", "marker"}
    reject_unknown(request, allowed, version)
    user_id = _user(request, ctx, version)
    ctx.can(P % "index", {"user_id": user_id})
    limit: int | None = None
    marker: str | None = None
    if version >= (2, 35):
        limit, marker = limit_and_marker(request, int(deps.opts.max_limit))
    rows = keypairs.list_for(deps.db, user_id, limit=limit, marker=marker)
    body: dict[str, Any] = {"keypairs": [{"keypair": _view(k, version)} for k in rows]}
    if limit and len(rows) == limit:
        body["keypairs_links"] = next_link(request, "os-keypairs", rows[-1].name)
    return json_response(body)


@router.get("/os-keypairs/{keypair_name}", openapi_extra=policies(P % "show"))
def show_keypair(
    request: Request, keypair_name: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    user_id = _user(request, ctx, version)
    ctx.can(P % "show", {"user_id": user_id})
    kp = keypairs.get(deps.db, user_id, keypair_name)
    view = {
        **_view(kp, version),
        "user_id": kp.user_id,
        "deleted": False,
        "created_at": plain_time(kp.created_at),
        "updated_at": plain_time(kp.updated_at),
        "deleted_at": None,
        "id": kp.id,
    }
    return json_response({"keypair": view})


@router.post(
    "/os-keypairs", openapi_extra=policies(P % "create") | request_model(KeypairCreateRequest)
)
def create_keypair(
    ctx: ContextDep, deps: DepsDep, version: VersionDep, body: dict[str, Any] = Body(...)
) -> Response:
    data = body_part(body, "keypair")
    gate(data, version, {"type": (2, 2), "user_id": (2, 10)})
    model = KeypairCreate.model_validate(data)
    _check_name(model.name, version)
    if version >= (2, 92) and model.public_key is None:
        raise BadRequest(
            "Invalid input for field/attribute keypair. 'public_key' is a required property"
        )
    user_id = model.user_id or ctx.user_id or ""
    ctx.can(P % "create", {"user_id": user_id})
    kp, private = keypairs.create(
        deps.db,
        deps.opts,
        user_id=user_id,
        project_id=ctx.project_id or "",
        name=model.name,
        key_type=model.type,
        public_key=model.public_key,
    )
    view = {**_view(kp, version), "user_id": kp.user_id}
    if private is not None:
        view["private_key"] = private
    return json_response({"keypair": view}, 201 if version >= (2, 2) else 200)


@router.delete("/os-keypairs/{keypair_name}", openapi_extra=policies(P % "delete"))
def delete_keypair(
    request: Request, keypair_name: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    user_id = _user(request, ctx, version)
    ctx.can(P % "delete", {"user_id": user_id})
    keypairs.delete(deps.db, user_id, keypair_name)
    return Response(status_code=204 if version >= (2, 2) else 202)
