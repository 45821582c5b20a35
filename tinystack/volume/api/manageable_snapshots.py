"""``/manageable_snapshots``: the snapshot data a backend holds (3.8), and managing one
(``POST``, upstream's ``os-snapshot-manage``); ``os-unmanage`` is a snapshot action
(``api/snapshots.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.volume.api import schemas
from tinystack.volume.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.volume.api.manageable_volumes import host_of, page_of
from tinystack.volume.api.microversion import Version
from tinystack.volume.api.rendering import json_response
from tinystack.volume.api.snapshots import view
from tinystack.volume.payloads import ManageableEntry
from tinystack.volume.services import manageable_snapshots

router = APIRouter(tags=["manageable snapshots"])
LIST = "snapshot_extension:list_manageable"
MANAGE = "snapshot_extension:snapshot_manage"
V = since("3.8")


class ManageSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")
    volume_id: str
    ref: dict[str, Any]
    name: str | None = Field(None, max_length=255)
    description: str | None = Field(None, max_length=255)
    metadata: dict[str, str] | None = None


class ManageSnapshotRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    snapshot: ManageSnapshot


def _entry(entry: ManageableEntry, detail: bool) -> dict[str, Any]:
    view_: dict[str, Any] = {
        "reference": entry.reference,
        "size": entry.size,
        "safe_to_manage": entry.safe_to_manage,
        "source_reference": entry.source_reference,
    }
    if detail:
        view_ |= {
            "reason_not_safe": entry.reason_not_safe,
            "cinder_id": entry.cinder_id,
            "extra_info": None,
        }
    return view_


def _list(request: Request, ctx: Any, deps: Any, version: Version, detail: bool) -> Response:
    ctx.can(LIST, {"project_id": ctx.project_id})
    host = host_of(request.query_params, version)
    found = manageable_snapshots.listing(deps, ctx, host, page_of(request))
    return json_response({"manageable-snapshots": [_entry(e, detail) for e in found]})


@router.get("/manageable_snapshots", openapi_extra=V | policies(LIST))
def list_manageable_snapshots(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _list(request, ctx, deps, version, detail=False)


@router.get("/manageable_snapshots/detail", openapi_extra=V | policies(LIST))
def list_manageable_snapshots_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _list(request, ctx, deps, version, detail=True)


def _manage_request(body: Any) -> manageable_snapshots.SnapshotManageRequest:
    part = schemas.top(body, "snapshot")
    schemas.closed(part, "snapshot", set(ManageSnapshot.model_fields))
    for key in ("volume_id", "ref"):
        if key not in part:
            raise BadRequest(f"Missing required element '{key}' in request body.")
    ref = part["ref"]
    if not isinstance(ref, dict) or not ref:
        raise schemas.invalid("ref", ref, f"{ref!r} is not of type 'object'")
    volume_id = schemas.text(part["volume_id"], "volume_id", nullable=False)
    metadata = schemas.key_values(part.get("metadata") or {}, "metadata")
    return manageable_snapshots.SnapshotManageRequest(
        volume_id=str(volume_id),
        reference={str(k): str(v) for k, v in ref.items()},
        name=schemas.text(part.get("name"), "name"),
        description=schemas.text(part.get("description"), "description"),
        metadata=tuple(sorted(metadata.items())),
    )


@router.post(
    "/os-snapshot-manage",
    openapi_extra=policies(MANAGE) | request_model(ManageSnapshotRequest),
)
def manage_snapshot_legacy(
    ctx: ContextDep, deps: DepsDep, version: VersionDep, body: Any = Body(None)
) -> Response:
    return manage_snapshot(ctx, deps, version, body)


@router.post(
    "/manageable_snapshots",
    openapi_extra=V | policies(MANAGE) | request_model(ManageSnapshotRequest),
)
def manage_snapshot(
    ctx: ContextDep, deps: DepsDep, version: VersionDep, body: Any = Body(None)
) -> Response:
    ctx.can(MANAGE, {"project_id": ctx.project_id})
    snap = manageable_snapshots.manage(deps, ctx, _manage_request(body))
    return json_response({"snapshot": view(snap, version)}, 202)
