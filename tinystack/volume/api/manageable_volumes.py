"""``/manageable_volumes``: what a backend holds that no volume claims (3.8), managing
one (``POST``, upstream's ``os-volume-manage``), and the ``os-unmanage`` volume action."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.volume import exception
from tinystack.volume.api import query, schemas, views
from tinystack.volume.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.volume.api.microversion import Version
from tinystack.volume.api.rendering import json_response
from tinystack.volume.api.volume_actions import Action, ActionRequest, register
from tinystack.volume.payloads import ManageableEntry
from tinystack.volume.services import manageable

router = APIRouter(tags=["manageable volumes"])
LIST = "volume_extension:list_manageable"
MANAGE = "volume_extension:volume_manage"
UNMANAGE = "volume_extension:volume_unmanage"
V = since("3.8")


class ManageVolume(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str | None = None
    cluster: str | None = None
    ref: dict[str, Any]
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    volume_type: str | None = None
    availability_zone: str | None = None
    bootable: bool | str = False
    metadata: dict[str, str] | None = None


class ManageVolumeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    volume: ManageVolume


def _entry(entry: ManageableEntry, detail: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "reference": entry.reference,
        "size": entry.size,
        "safe_to_manage": entry.safe_to_manage,
    }
    if detail:
        view |= {
            "reason_not_safe": entry.reason_not_safe,
            "cinder_id": entry.cinder_id,
            "extra_info": None,
        }
    return view


def page_of(request: Request) -> manageable.ManageablePage:
    params = request.query_params
    sort = query.sort(request, default_key="reference")
    key, direction = sort[0] if sort else ("reference", "desc")
    if key not in ("reference", "size"):
        raise exception.Invalid(f"Invalid sort keys passed: {key}")
    limit = None
    if "limit" in params:
        limit = schemas.integer(params["limit"], "limit", minimum=0)
    offset = schemas.integer(params.get("offset", 0), "offset", minimum=0)
    return manageable.ManageablePage(key, direction, limit, offset, params.get("marker"))


def host_of(params: Any, version: Version) -> str:
    """Upstream's ``get_cluster_host``: one of host and (3.16/3.17) cluster."""
    host = params.get("host")
    if version >= Version(3, 17) and params.get("cluster"):
        if host:
            raise exception.InvalidInput(reason="One and only one of cluster and host must be set.")
        raise exception.InvalidInput(reason="This deployment has no clusters.")
    if not host:
        raise exception.InvalidInput(reason="Host field is missing.")
    return str(host)


def _list(request: Request, ctx: Any, deps: Any, version: Version, detail: bool) -> Response:
    ctx.can(LIST, {"project_id": ctx.project_id})
    host = host_of(request.query_params, version)
    found = manageable.listing(deps, ctx, host, page_of(request))
    return json_response({"manageable-volumes": [_entry(e, detail) for e in found]})


@router.get("/manageable_volumes", openapi_extra=V | policies(LIST))
def list_manageable(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _list(request, ctx, deps, version, detail=False)


@router.get("/manageable_volumes/detail", openapi_extra=V | policies(LIST))
def list_manageable_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _list(request, ctx, deps, version, detail=True)


def _manage_request(body: Any, version: Version) -> manageable.ManageRequest:
    part = schemas.top(body, "volume")
    schemas.closed(part, "volume", set(ManageVolume.model_fields))
    if "ref" not in part:
        raise BadRequest("Missing required element 'ref' in request body.")
    ref = part["ref"]
    if not isinstance(ref, dict) or not ref:
        raise schemas.invalid("ref", ref, f"{ref!r} is not of type 'object'")
    host = host_of(part, Version(3, 17) if version >= Version(3, 16) else version)
    metadata = schemas.key_values(part.get("metadata") or {}, "metadata")
    bootable = part.get("bootable", False)
    return manageable.ManageRequest(
        host=host,
        reference={str(k): str(v) for k, v in ref.items()},
        name=schemas.text(part.get("name"), "name"),
        description=schemas.text(part.get("description"), "description"),
        volume_type=schemas.text(part.get("volume_type"), "volume_type"),
        availability_zone=schemas.text(part.get("availability_zone"), "availability_zone"),
        bootable=schemas.boolean(bootable, "bootable"),
        metadata=tuple(sorted(metadata.items())),
    )


@router.post(
    "/os-volume-manage",
    openapi_extra=policies(MANAGE) | request_model(ManageVolumeRequest),
)
def manage_volume_legacy(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep, body: Any = Body(None)
) -> Response:
    return manage_volume(request, ctx, deps, version, body)


@router.post(
    "/manageable_volumes",
    openapi_extra=V | policies(MANAGE) | request_model(ManageVolumeRequest),
)
def manage_volume(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep, body: Any = Body(None)
) -> Response:
    ctx.can(MANAGE, {"project_id": ctx.project_id})
    req = _manage_request(body, version)
    volume = manageable.manage(deps, ctx, req)
    return json_response({"volume": views.volume_detail(request, ctx, volume, version)}, 202)


def _unmanage(a: ActionRequest) -> Response:
    manageable.unmanage(a.deps, a.ctx, a.volume_id, UNMANAGE)
    return Response(status_code=202)


register(Action("os-unmanage", _unmanage, (UNMANAGE,), nullable=True))
