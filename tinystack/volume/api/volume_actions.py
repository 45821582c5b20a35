"""``POST /volumes/{volume_id}/action``: the action table and the one route dispatching
on it.

:data:`ACTIONS` maps an action name to its handler, policy rules, microversions and body
model. Other modules add theirs with :func:`register` when they are imported (the attach
actions live in their own module), so this module never needs editing for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.volume.api import schemas
from tinystack.volume.api.deps import ContextDep, DepsDep, Version, VersionDep
from tinystack.volume.api.microversion import MAX_VERSION, MIN_VERSION
from tinystack.volume.api.rendering import cinder_time, json_response
from tinystack.volume.services import (
    attach_actions,
    extend_completion,
    image_refs,
    migration,
    reimage,
    volume_actions,
    volumes,
)
from tinystack.volume.services.deps import Deps

router = APIRouter(tags=["volume actions"])


@dataclass(frozen=True)
class ActionRequest:
    request: Request
    ctx: RequestContext
    deps: Deps
    version: Version
    volume_id: str
    #: the action's value, validated by its model (a dict), or as sent without one
    value: Any


Handler = Callable[[ActionRequest], Response]


@dataclass(frozen=True)
class Action:
    name: str
    handler: Handler
    #: the rules the handler (or the service it calls) checks
    policies: tuple[str, ...]
    schema: type[BaseModel] | None = None
    min_version: Version = MIN_VERSION
    max_version: Version = MAX_VERSION
    #: the value may be null (or anything, without a schema)
    nullable: bool = False


ACTIONS: dict[str, Action] = {}
#: the action route's request body: one alternative per registered action
_BODIES: list[dict[str, Any]] = []


def register(*actions: Action) -> None:
    for action in actions:
        if action.name in ACTIONS:
            raise ValueError(f"volume action {action.name} is registered twice")
        ACTIONS[action.name] = action
        value: dict[str, Any] = (
            action.schema.model_json_schema() if action.schema is not None else {}
        )
        value.pop("$defs", None)
        _BODIES.append(
            {"type": "object", "properties": {action.name: value}, "required": [action.name]}
        )


@router.post(
    "/volumes/{volume_id}/action",
    openapi_extra={
        **policies(),
        "x-action-registry": True,
        "x-request-model": "VolumeAction",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"oneOf": _BODIES}}},
        },
    },
)
def volume_action(
    request: Request,
    volume_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: Any = Body(...),
) -> Response:
    if not isinstance(body, dict) or not body:
        raise BadRequest("Malformed request body")
    name = next((k for k in body if k in ACTIONS), None)
    if name is None:
        raise BadRequest(f"There is no such action: {next(iter(body))}")
    if len(body) > 1:
        raise schemas.unexpected(sorted(k for k in body if k != name))
    action = ACTIONS[name]
    if not action.min_version <= version <= action.max_version:
        raise NotFound(f"API version {version} is not supported on this method.")
    value = body[name]
    if action.schema is not None:
        if value is None and action.nullable:
            value = {}
        elif not isinstance(value, dict):
            raise BadRequest(
                f"Invalid input for field/attribute {name}. Value: {value!r}. "
                f"{value!r} is not of type 'object'"
            )
        action.schema.model_validate(value)
    return action.handler(ActionRequest(request, ctx, deps, version, volume_id, value))


# -- the handlers ------------------------------------------------------------------------------
EXTEND = "volume:extend"
EXTEND_ATTACHED = "volume:extend_attached_volume"
RETYPE = "volume:retype"
UPDATE = "volume:update"
READONLY = "volume:update_readonly_flag"
UPLOAD = "volume_extension:volume_actions:upload_image"
UPLOAD_PUBLIC = "volume_extension:volume_actions:upload_public"
IMAGE_META_GET = "volume:get_volume_metadata"
IMAGE_META_SET = "volume_extension:volume_image_metadata:set"
IMAGE_META_REMOVE = "volume_extension:volume_image_metadata:remove"
RESET_STATUS = "volume_extension:volume_admin_actions:reset_status"
FORCE_DELETE = "volume_extension:volume_admin_actions:force_delete"
MIGRATE = "volume_extension:volume_admin_actions:migrate_volume"
DELETE = "volume:delete"


def _extend(a: ActionRequest) -> Response:
    new_size = schemas.integer(a.value["new_size"], "new_size", minimum=1)
    attached_rule = EXTEND_ATTACHED if a.version >= (3, 42) else None
    volume_actions.extend(
        a.deps, a.ctx, a.volume_id, new_size, rule=EXTEND, attached_rule=attached_rule
    )
    return Response(status_code=202)


def _extend_completion(a: ActionRequest) -> Response:
    error = a.value.get("error")
    error = False if error is None else schemas.boolean(error, "error")
    extend_completion.request(a.deps, a.ctx, a.volume_id, error)
    return Response(status_code=202)


def _retype(a: ActionRequest) -> Response:
    new_type = schemas.text(a.value["new_type"], "new_type", nullable=False) or ""
    policy = a.value.get("migration_policy") or "never"
    volume_actions.retype(a.deps, a.ctx, a.volume_id, new_type, policy, RETYPE)
    return Response(status_code=202)


def _set_bootable(a: ActionRequest) -> Response:
    bootable = schemas.boolean(a.value["bootable"], "bootable")
    volume_actions.set_bootable(a.deps.db, a.ctx, a.volume_id, bootable, UPDATE)
    return Response(status_code=200)


def _readonly(a: ActionRequest) -> Response:
    readonly = schemas.boolean(a.value["readonly"], "readonly")
    volume_actions.update_readonly(a.deps.db, a.ctx, a.volume_id, readonly, READONLY)
    return Response(status_code=202)


def _reimage(a: ActionRequest) -> Response:
    value = a.value
    image_id = schemas.uuid_value(value.get("image_id"), "image_id")
    reserved = schemas.boolean(value.get("reimage_reserved", False), "reimage_reserved")
    image = image_refs.resolve(a.deps, image_id, a.ctx.token)
    reimage.reimage(a.deps, a.ctx, a.volume_id, image, reserved)
    return Response(status_code=202)


def _upload(a: ActionRequest) -> Response:
    value = a.value
    force = schemas.boolean(value.get("force", False), "force")
    visibility = protected = None
    if a.version >= (3, 1):
        visibility = value.get("visibility") or "private"
        protected = schemas.boolean(value.get("protected", False), "protected")
        if visibility == "public":
            a.ctx.can(UPLOAD_PUBLIC, {"project_id": a.ctx.project_id})
    req = volume_actions.UploadRequest(
        image_name=str(value["image_name"]),
        force=force,
        disk_format=value.get("disk_format") or a.deps.opts.image_upload_disk_format,
        container_format=value.get("container_format") or "bare",
        visibility=visibility,
        protected=protected,
    )
    started = volume_actions.upload_to_image(a.deps, a.ctx, a.volume_id, req, UPLOAD)
    volume, image = started.volume, started.image
    view: dict[str, Any] = {
        "id": volume.id,
        "updated_at": cinder_time(volume.updated_at),
        "status": "uploading",
        "display_description": volume.description,
        "size": volume.size,
        "volume_type": {"id": volume.volume_type_id, "name": volume.volume_type_name},
        "image_id": image.get("id"),
        "container_format": image.get("container_format"),
        "disk_format": image.get("disk_format"),
        "image_name": image.get("name"),
    }
    for key in ("protected", "visibility"):
        if key in image:
            view[key] = image[key]
    return json_response({"os-volume_upload_image": view}, 202)


def _set_image_metadata(a: ActionRequest) -> Response:
    metadata = schemas.key_values(a.value["metadata"], "metadata")
    found = volume_actions.set_image_metadata(a.deps.db, a.ctx, a.volume_id, metadata,
                                              IMAGE_META_SET)  # fmt: skip
    return json_response({"metadata": found})


def _unset_image_metadata(a: ActionRequest) -> Response:
    key = schemas.text(a.value["key"], "key", nullable=False) or ""
    volume_actions.unset_image_metadata(a.deps.db, a.ctx, a.volume_id, key, IMAGE_META_REMOVE)
    return Response(status_code=200)


def _show_image_metadata(a: ActionRequest) -> Response:
    found = volume_actions.show_image_metadata(a.deps.db, a.ctx, a.volume_id, IMAGE_META_GET)
    return json_response({"metadata": found})


def _reset_status(a: ActionRequest) -> Response:
    a.ctx.can(RESET_STATUS, {"project_id": a.ctx.project_id})
    reset = volume_actions.StatusReset(
        status=a.value.get("status"),
        attach_status=a.value.get("attach_status"),
        migration_status=a.value.get("migration_status"),
    )
    attach_actions.check_reset(a.deps.db, a.volume_id, reset.status)
    volume_actions.reset_status(a.deps.db, a.ctx, a.volume_id, reset, RESET_STATUS)
    if (reset.attach_status or "").lower() == "detached":
        attach_actions.reset_detached(a.deps, a.ctx, a.volume_id)
    return Response(status_code=202)


def _migrate(a: ActionRequest) -> Response:
    """Upstream's generic host-copy migration (``force_host_copy`` changes nothing: no
    driver here migrates by itself; nor does ``lock_volume``: the volume is always
    locked, see ``services/migration.py``); both are only validated."""
    a.ctx.can(MIGRATE, {"project_id": a.ctx.project_id})
    host = schemas.text(a.value.get("host"), "host", nullable=False) or ""
    for flag in ("force_host_copy", "lock_volume"):
        if a.value.get(flag) is not None:
            schemas.boolean(a.value[flag], flag)
    migration.migrate(a.deps, a.ctx, a.volume_id, host, MIGRATE)
    return Response(status_code=202)


def _force_delete(a: ActionRequest) -> Response:
    a.ctx.can(FORCE_DELETE, {"project_id": a.ctx.project_id})
    volumes.delete(a.deps, a.ctx, a.volume_id, DELETE, force=True, force_rule=FORCE_DELETE)
    return Response(status_code=202)


register(
    Action("os-extend", _extend, (EXTEND, EXTEND_ATTACHED), schemas.ExtendBody),
    Action("os-extend_volume_completion", _extend_completion, (extend_completion.RULE,),
           schemas.ExtendCompletionBody, min_version=Version(3, 71)),
    Action("os-retype", _retype, (RETYPE, "volume:multiattach"), schemas.RetypeBody),
    Action("os-set_bootable", _set_bootable, (UPDATE,), schemas.BootableBody),
    Action("os-update_readonly_flag", _readonly, (READONLY,), schemas.ReadonlyBody),
    Action("os-volume_upload_image", _upload, (UPLOAD, UPLOAD_PUBLIC), schemas.UploadImageBody),
    Action("os-set_image_metadata", _set_image_metadata, (IMAGE_META_SET,),
           schemas.ImageMetadataBody),
    Action("os-unset_image_metadata", _unset_image_metadata, (IMAGE_META_REMOVE,),
           schemas.UnsetImageMetadataBody),
    Action("os-show_image_metadata", _show_image_metadata, (IMAGE_META_GET,), nullable=True),
    Action("os-reimage", _reimage, (reimage.REIMAGE, reimage.REIMAGE_RESERVED),
           schemas.ReimageBody, min_version=Version(3, 68)),
    Action("os-reset_status", _reset_status, (RESET_STATUS,), schemas.ResetStatusBody),
    Action("os-migrate_volume", _migrate, (MIGRATE,), schemas.MigrateBody),
    Action("os-force_delete", _force_delete, (FORCE_DELETE, DELETE), schemas.EmptyBody,
           nullable=True),
)  # fmt: skip
