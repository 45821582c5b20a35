"""``/snapshots``: create, list (summary and detail), show, update, delete, and the
snapshot actions (``os-reset_status``, ``os-update_snapshot_status``,
``os-force_delete``, ``os-unmanage``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.volume.api import listing, volume_actions
from tinystack.volume.api.deps import ContextDep, DepsDep, VersionDep, url_project
from tinystack.volume.api.microversion import Version
from tinystack.volume.api.rendering import json_response, next_link
from tinystack.volume.api.snapshot_schemas import (
    ResetStatus,
    RevertBody,
    SnapshotActionBody,
    SnapshotCreateBody,
    SnapshotUpdateBody,
    UpdateSnapshotStatus,
)
from tinystack.volume.exception import VolumeNotFound
from tinystack.volume.services import manageable_snapshots, snapshots
from tinystack.volume.services.snapshots import SnapshotCreate, SnapshotRecord, SnapshotUpdate

router = APIRouter(tags=["snapshots"])

EXTENDED = "volume_extension:extended_snapshot_attributes"
EXTENDED_PREFIX = "os-extended-snapshot-attributes"
RESET = "volume_extension:snapshot_admin_actions:reset_status"
UPDATE_STATUS = "snapshot_extension:snapshot_actions:update_snapshot_status"
FORCE_DELETE = "volume_extension:snapshot_admin_actions:force_delete"
UNMANAGE = "snapshot_extension:snapshot_unmanage"
IN_USE_FORCE = (
    "Since microversion 3.66 the 'force' flag is invalid for this request.  For backward "
    "compatability, however, when the 'force' flag is passed with a value evaluating to "
    "True, it is silently ignored."
)


def view(snap: SnapshotRecord, version: Version, extended: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": snap.id,
        "created_at": snap.created_at,
        "updated_at": snap.updated_at,
        "name": snap.name,
        "description": snap.description,
        "volume_id": snap.volume_id,
        "status": snap.status,
        "size": snap.volume_size,
        "metadata": snap.metadata,
    }
    if version.matches("3.14"):
        body["group_snapshot_id"] = snap.group_snapshot_id
    if version.matches("3.41"):
        body["user_id"] = snap.user_id
    if version.matches("3.65"):
        body["consumes_quota"] = snap.use_quota
    if extended:
        body[f"{EXTENDED_PREFIX}:project_id"] = snap.project_id
        body[f"{EXTENDED_PREFIX}:progress"] = snap.progress
    return body


def _extended(ctx: RequestContext) -> bool:
    """Whether the caller sees ``os-extended-snapshot-attributes`` (not fatal)."""
    return ctx.allowed(EXTENDED, {"project_id": ctx.project_id, "user_id": ctx.user_id})


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _list(
    request: Request, ctx: RequestContext, deps: Any, version: Version, detail: bool
) -> Response:
    ctx.can("volume:get_all_snapshots", {"project_id": ctx.project_id})
    wanted = listing.parse(
        request, ctx, version, "snapshot", deps.opts.max_limit, name_sort_since="3.30"
    )
    found, total = snapshots.list_snapshots(deps.db, ctx, wanted)
    extended = detail and _extended(ctx)
    body: dict[str, Any] = {"snapshots": [view(s, version, extended) for s in found]}
    limit = wanted.limit if wanted.limit is not None else deps.opts.max_limit
    if found and limit <= (total or len(found)):
        collection = "snapshots/detail" if detail else "snapshots"
        body["snapshots_links"] = next_link(request, url_project(request), collection, found[-1].id)
    if total is not None:
        body["count"] = total
    return json_response(body)


@router.get("/snapshots", openapi_extra=policies("volume:get_all_snapshots"))
def list_snapshots(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _list(request, ctx, deps, version, detail=False)


@router.get("/snapshots/detail", openapi_extra=policies("volume:get_all_snapshots", EXTENDED))
def list_snapshots_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _list(request, ctx, deps, version, detail=True)


@router.post(
    "/snapshots",
    status_code=202,
    openapi_extra={**policies("volume:create_snapshot"), **request_model(SnapshotCreateBody)},
)
def create_snapshot(
    body: SnapshotCreateBody, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    req = body.snapshot
    allow_in_use = version.matches("3.66")
    if req.force is not None:
        if allow_in_use and req.force is False:
            raise BadRequest(IN_USE_FORCE)
        allow_in_use = allow_in_use or req.force
    name = req.name if "name" in req.model_fields_set else req.display_name
    if req.volume_id is None:  # upstream looks the volume up: 404
        raise VolumeNotFound(volume_id=None)
    create = SnapshotCreate(
        volume_id=req.volume_id,
        name=_strip(name),
        description=_strip(req.description),
        metadata=dict(req.metadata or {}),
        allow_in_use=allow_in_use,
    )
    snap = snapshots.create(deps, ctx, create)
    return json_response({"snapshot": view(snap, version)}, status=202)


@router.get("/snapshots/{snapshot_id}", openapi_extra=policies("volume:get_snapshot", EXTENDED))
def show_snapshot(
    snapshot_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    snap = snapshots.get(deps.db, ctx, snapshot_id)
    return json_response({"snapshot": view(snap, version, _extended(ctx))})


@router.put(
    "/snapshots/{snapshot_id}",
    openapi_extra={**policies("volume:update_snapshot"), **request_model(SnapshotUpdateBody)},
)
def update_snapshot(
    snapshot_id: str,
    body: SnapshotUpdateBody,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
) -> Response:
    req = body.snapshot
    sent = req.model_fields_set
    if not sent:
        raise BadRequest("Invalid input for field/attribute snapshot.")
    changes = SnapshotUpdate(
        name=_strip(req.name if "name" in sent else req.display_name),
        description=_strip(req.description if "description" in sent else req.display_description),
        set_name=bool(sent & {"name", "display_name"}),
        set_description=bool(sent & {"description", "display_description"}),
    )
    snap = snapshots.update(deps.db, ctx, snapshot_id, changes)
    return json_response({"snapshot": view(snap, version)})


@router.delete(
    "/snapshots/{snapshot_id}", status_code=202, openapi_extra=policies("volume:delete_snapshot")
)
def delete_snapshot(snapshot_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    snapshots.delete(deps, ctx, snapshot_id, "volume:delete_snapshot")
    return Response(status_code=202)


@router.post(
    "/snapshots/{snapshot_id}/action",
    status_code=202,
    openapi_extra={
        **policies(RESET, UPDATE_STATUS, FORCE_DELETE, UNMANAGE),
        **request_model(SnapshotActionBody),
    },
)
def snapshot_action(
    snapshot_id: str, ctx: ContextDep, deps: DepsDep, body: Any = Body(...)
) -> Response:
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body")
    name, value = next(iter(body.items()))
    if name == "os-reset_status":
        reset = ResetStatus.model_validate(value)
        snapshots.reset_status(deps.db, ctx, snapshot_id, reset.status)
    elif name == "os-update_snapshot_status":
        update = UpdateSnapshotStatus.model_validate(value)
        snapshots.update_status(deps.db, ctx, snapshot_id, update.status, update.progress)
    elif name == "os-force_delete":
        snapshots.delete(deps, ctx, snapshot_id, FORCE_DELETE, force=True)
    elif name == "os-unmanage":
        manageable_snapshots.unmanage(deps, ctx, snapshot_id, UNMANAGE)
    else:
        raise BadRequest(f"There is no such action: {name}")
    return Response(status_code=202)


# -- the volume action ``revert`` (3.40) --------------------------------------------------------
def _revert(a: volume_actions.ActionRequest) -> Response:
    snapshot_id = a.value.get("snapshot_id") if isinstance(a.value, dict) else None
    snapshots.revert(a.deps, a.ctx, a.volume_id, snapshot_id)
    return Response(status_code=202)


volume_actions.register(
    volume_actions.Action(
        "revert", _revert, ("volume:get", "volume:revert_to_snapshot"), RevertBody,
        min_version=Version(3, 40),
    )
)  # fmt: skip
