"""``/backups``: create, list (summary and detail), show, update (3.9), delete, restore,
export and import of records, and the admin actions (``os-reset_status``,
``os-force_delete``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.volume.api import listing
from tinystack.volume.api.backup_schemas import (
    BackupActionBody,
    BackupCreateBody,
    BackupCreateV343Body,
    BackupCreateV351Body,
    BackupResetStatus,
    BackupUpdateBody,
    BackupUpdateV343Body,
    ImportBody,
    RestoreBody,
)
from tinystack.volume.api.deps import ContextDep, DepsDep, VersionDep, url_project
from tinystack.volume.api.microversion import Version
from tinystack.volume.api.rendering import json_response, links, next_link
from tinystack.volume.payloads import BackupExport
from tinystack.volume.services import backup_restore, backups
from tinystack.volume.services.backups import BackupCreate, BackupRecord, BackupUpdate
from tinystack.volume.services.deps import Deps

router = APIRouter(tags=["backups"])

PROJECT_ATTR = "backup:backup_project_attribute"
RESET = "volume_extension:backup_admin_actions:reset_status"
FORCE_DELETE = "volume_extension:backup_admin_actions:force_delete"


def summary(request: Request, backup: BackupRecord) -> dict[str, Any]:
    return {
        "id": backup.id,
        "name": backup.name,
        "links": links(request, url_project(request), "backups", backup.id),
    }


def detail(
    request: Request, backup: BackupRecord, version: Version, attrs: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": backup.id,
        "status": backup.status,
        "size": backup.size,
        "object_count": backup.object_count,
        "availability_zone": backup.availability_zone,
        "container": backup.container,
        "created_at": backup.created_at,
        "updated_at": backup.updated_at,
        "name": backup.name,
        "description": backup.description,
        "fail_reason": backup.fail_reason,
        "volume_id": backup.volume_id,
        "links": links(request, url_project(request), "backups", backup.id),
        "is_incremental": backup.is_incremental,
        "has_dependent_backups": backup.has_dependent_backups,
        "snapshot_id": backup.snapshot_id,
        "data_timestamp": backup.data_timestamp,
    }
    if version.matches("3.43"):
        body["metadata"] = backup.metadata
    if version.matches("3.64") and backup.encryption_key_id:
        body["encryption_key_id"] = backup.encryption_key_id
    if attrs and version.matches("3.18"):
        body["os-backup-project-attr:project_id"] = backup.project_id
    if attrs and version.matches("3.56"):
        body["user_id"] = backup.user_id
    return body


def _attrs(ctx: RequestContext) -> bool:
    return ctx.allowed(PROJECT_ATTR, {"project_id": ctx.project_id, "user_id": ctx.user_id})


def _list(
    request: Request, ctx: RequestContext, deps: Deps, version: Version, full: bool
) -> Response:
    wanted = listing.parse(
        request, ctx, version, "backup", deps.opts.max_limit, name_sort_since="3.37"
    )
    found, total = backups.list_backups(deps.db, ctx, wanted)
    attrs = full and _attrs(ctx)
    items = [detail(request, b, version, attrs) if full else summary(request, b) for b in found]
    body: dict[str, Any] = {"backups": items}
    limit = wanted.limit if wanted.limit is not None else deps.opts.max_limit
    if found and limit <= (total or len(found)):
        collection = "backups/detail" if full else "backups"
        body["backups_links"] = next_link(request, url_project(request), collection, found[-1].id)
    if total is not None:
        body["count"] = total
    return json_response(body)


@router.get("/backups", openapi_extra=policies("backup:get_all"))
def list_backups(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    return _list(request, ctx, deps, version, full=False)


@router.get("/backups/detail", openapi_extra=policies("backup:get_all", PROJECT_ATTR))
def list_backups_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _list(request, ctx, deps, version, full=True)


def _create_request(body: Any, version: Version) -> BackupCreate:
    """The create body as the request's version reads it (metadata from 3.43, the zone
    from 3.51)."""
    model: type[BackupCreateBody | BackupCreateV343Body | BackupCreateV351Body]
    model = BackupCreateBody
    if version.matches("3.51"):
        model = BackupCreateV351Body
    elif version.matches("3.43"):
        model = BackupCreateV343Body
    req = model.model_validate(body).backup
    metadata = getattr(req, "metadata", None)
    return BackupCreate(
        volume_id=req.volume_id,
        name=req.name.strip() if req.name else req.name,
        description=req.description.strip() if req.description else req.description,
        container=req.container,
        incremental=req.incremental,
        force=req.force,
        snapshot_id=req.snapshot_id,
        metadata=dict(metadata or {}),
        availability_zone=getattr(req, "availability_zone", None),
    )


@router.post(
    "/backups",
    status_code=202,
    openapi_extra={
        **policies("backup:create", "volume:get_snapshot"),
        **request_model(BackupCreateV351Body),
    },
)
def create_backup(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep, body: Any = Body(...)
) -> Response:
    created = backups.create(deps, ctx, _create_request(body, version))
    return json_response({"backup": summary(request, created)}, status=202)


@router.post(
    "/backups/import_record",
    status_code=201,
    openapi_extra={**policies("backup:backup-import"), **request_model(ImportBody)},
)
def import_record(request: Request, body: ImportBody, ctx: ContextDep, deps: DepsDep) -> Response:
    record = BackupExport(body.backup_record.backup_service, body.backup_record.backup_url)
    imported = backups.import_record(deps, ctx, record)
    return json_response({"backup": summary(request, imported)}, status=201)


@router.get("/backups/{backup_id}", openapi_extra=policies("backup:get", PROJECT_ATTR))
def show_backup(
    request: Request, backup_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    found = backups.get(deps.db, ctx, backup_id)
    return json_response({"backup": detail(request, found, version, _attrs(ctx))})


@router.put(
    "/backups/{backup_id}",
    openapi_extra={
        **policies("backup:update"),
        **request_model(BackupUpdateV343Body),
        **since("3.9"),
    },
)
def update_backup(
    request: Request,
    backup_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: Any = Body(...),
) -> Response:
    model = BackupUpdateV343Body if version.matches("3.43") else BackupUpdateBody
    req = model.model_validate(body).backup
    sent = req.model_fields_set if req is not None else set()
    metadata = getattr(req, "metadata", None)
    name = req.name if req is not None else None
    description = req.description if req is not None else None
    changes = BackupUpdate(
        name=name.strip() if name else name,
        description=description.strip() if description else description,
        metadata=dict(metadata) if metadata is not None else None,
        set_name="name" in sent,
        set_description="description" in sent,
    )
    updated = backups.update(deps.db, ctx, backup_id, changes)
    return json_response({"backup": summary(request, updated)})


@router.delete(
    "/backups/{backup_id}", status_code=202, openapi_extra=policies("backup:get", "backup:delete")
)
def delete_backup(backup_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    backups.delete(deps, ctx, backup_id)
    return Response(status_code=202)


@router.post(
    "/backups/{backup_id}/restore",
    status_code=202,
    openapi_extra={
        **policies("backup:get", "backup:restore", "volume:get", "volume:create"),
        **request_model(RestoreBody),
    },
)
def restore_backup(backup_id: str, body: RestoreBody, ctx: ContextDep, deps: DepsDep) -> Response:
    req = body.restore
    done = backup_restore.restore(
        deps, ctx, backup_id, req.volume_id if req else None, req.name if req else None
    )
    restore = {"backup_id": done.backup_id, "volume_id": done.volume_id,
               "volume_name": done.volume_name}  # fmt: skip
    return json_response({"restore": restore}, status=202)


@router.get(
    "/backups/{backup_id}/export_record",
    openapi_extra=policies("backup:get", "backup:export-import"),
)
def export_record(backup_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    record = backups.export_record(deps, ctx, backup_id)
    body = {"backup_service": record.backup_service, "backup_url": record.backup_url}
    return json_response({"backup-record": body})


@router.post(
    "/backups/{backup_id}/action",
    status_code=202,
    openapi_extra={**policies(RESET, FORCE_DELETE), **request_model(BackupActionBody)},
)
def backup_action(
    backup_id: str, ctx: ContextDep, deps: DepsDep, body: Any = Body(...)
) -> Response:
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body")
    name, value = next(iter(body.items()))
    if name == "os-reset_status":
        reset = BackupResetStatus.model_validate(value)
        backups.reset_status(deps.db, ctx, backup_id, reset.status)
    elif name == "os-force_delete":
        backups.delete(deps, ctx, backup_id, force=True)
    else:
        raise BadRequest(f"There is no such action: {name}")
    return Response(status_code=202)
