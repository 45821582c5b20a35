"""``/qos-specs``: QoS specs, their keys and their volume type associations (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.volume.api import query, schemas
from tinystack.volume.api.deps import ContextDep, DepsDep, url_project
from tinystack.volume.api.rendering import json_response, links, next_link
from tinystack.volume.services import qos_specs

router = APIRouter(tags=["qos specs"])
RULE = "volume_extension:qos_specs_manage:%s"
GET_ALL, GET, CREATE, UPDATE, DELETE = (
    RULE % "get_all", RULE % "get", RULE % "create", RULE % "update", RULE % "delete",
)  # fmt: skip


@router.get("/qos-specs", openapi_extra=policies(GET_ALL))
def list_qos_specs(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(GET_ALL, {"project_id": ctx.project_id})
    page = query.page(request, int(deps.opts.max_limit))
    found = qos_specs.list_specs(
        deps.db, sort=query.sort(request), limit=page.limit, marker=page.marker, offset=page.offset
    )
    body: dict[str, Any] = {"qos_specs": [_summary(q) for q in found]}
    if found and len(found) >= page.limit:
        body["qos_specs_links"] = next_link(
            request, url_project(request), "qos-specs", found[-1].id
        )
    return json_response(body)


def _summary(qos: Any) -> dict[str, Any]:
    return {"id": qos.id, "name": qos.name, "consumer": qos.consumer, "specs": dict(qos.specs)}


def _detail(request: Request, qos: Any) -> dict[str, Any]:
    return {
        "qos_specs": _summary(qos),
        "links": links(request, url_project(request), "qos-specs", qos.id),
    }


@router.post("/qos-specs", openapi_extra=policies(CREATE) | request_model(schemas.QoSCreateRequest))
def create_qos_specs(
    request: Request, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(CREATE, {"project_id": ctx.project_id})
    data = dict(schemas.part(body, "qos_specs"))
    name = data.pop("name", None)
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise BadRequest("Invalid input for field/attribute name.")
    consumer = data.pop("consumer", "back-end")
    specs = schemas.key_values(data, "qos_specs")
    qos = qos_specs.create(deps.db, name.strip(), str(consumer), specs)
    return json_response(_detail(request, qos))


@router.get("/qos-specs/{qos_id}", openapi_extra=policies(GET))
def show_qos_specs(request: Request, qos_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(GET, {"project_id": ctx.project_id})
    return json_response(_detail(request, qos_specs.get(deps.db, qos_id)))


@router.put(
    "/qos-specs/{qos_id}", openapi_extra=policies(UPDATE) | request_model(schemas.QoSUpdateRequest)
)
def update_qos_specs(
    qos_id: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(UPDATE, {"project_id": ctx.project_id})
    specs = schemas.key_values(schemas.part(body, "qos_specs"), "qos_specs")
    return json_response({"qos_specs": qos_specs.set_keys(deps.db, qos_id, specs)})


@router.delete("/qos-specs/{qos_id}", status_code=202, openapi_extra=policies(DELETE))
def delete_qos_specs(request: Request, qos_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(DELETE, {"project_id": ctx.project_id})
    force = query.flag(request.query_params.get("force"), "force")
    qos_specs.destroy(deps.db, qos_id, force)
    return Response(status_code=202)


@router.put(
    "/qos-specs/{qos_id}/delete_keys",
    status_code=202,
    openapi_extra=policies(DELETE) | request_model(schemas.QoSKeysRequest),
)
def delete_qos_keys(
    qos_id: str, ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(DELETE, {"project_id": ctx.project_id})
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise BadRequest("Invalid input for field/attribute keys.")
    qos_specs.delete_keys(deps.db, qos_id, keys)
    return Response(status_code=202)


@router.get("/qos-specs/{qos_id}/associations", openapi_extra=policies(GET_ALL))
def list_associations(qos_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(GET_ALL, {"project_id": ctx.project_id})
    found = qos_specs.associations(deps.db, qos_id)
    return json_response(
        {
            "qos_associations": [
                {"association_type": a.association_type, "name": a.name, "id": a.id} for a in found
            ]
        }
    )


def _type_id(request: Request) -> str:
    type_id = request.query_params.get("vol_type_id")
    if not type_id:
        raise BadRequest("Volume Type id must not be None.")
    return type_id


@router.get("/qos-specs/{qos_id}/associate", status_code=202, openapi_extra=policies(UPDATE))
def associate(request: Request, qos_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(UPDATE, {"project_id": ctx.project_id})
    qos_specs.associate(deps.db, qos_id, _type_id(request))
    return Response(status_code=202)


@router.get("/qos-specs/{qos_id}/disassociate", status_code=202, openapi_extra=policies(UPDATE))
def disassociate(request: Request, qos_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(UPDATE, {"project_id": ctx.project_id})
    qos_specs.disassociate(deps.db, qos_id, _type_id(request))
    return Response(status_code=202)


@router.get("/qos-specs/{qos_id}/disassociate_all", status_code=202, openapi_extra=policies(UPDATE))
def disassociate_all(qos_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(UPDATE, {"project_id": ctx.project_id})
    qos_specs.disassociate(deps.db, qos_id, None)
    return Response(status_code=202)
