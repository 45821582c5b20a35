"""``POST /workers/cleanup`` (3.24): ask services to replay the operations they left."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception
from tinystack.volume.api import schemas
from tinystack.volume.api.deps import ContextDep, DepsDep
from tinystack.volume.api.rendering import json_response
from tinystack.volume.payloads import CleanupSpec
from tinystack.volume.services import cleanup
from tinystack.volume.services.cleanup import CleanupFilter, CleanupTarget

router = APIRouter(tags=["workers"])
CLEANUP = "workers:cleanup"
RESOURCE_TYPES = ("Volume", "Snapshot")
BINARIES = ("cinder-volume", "cinder-scheduler", "cinder-backup", "")


class CleanupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cluster_name: str | None = Field(None, max_length=255)
    disabled: bool | str | None = None
    host: str | None = Field(None, max_length=255)
    is_up: bool | str | None = None
    binary: str | None = None
    resource_id: str | None = None
    resource_type: str | None = None
    service_id: int | None = Field(None, ge=1)


def _view(found: list[CleanupTarget]) -> list[dict[str, Any]]:
    return [
        {"id": t.id, "host": t.host, "binary": t.binary, "cluster_name": t.cluster_name}
        for t in found
    ]


def _filter(body: Any) -> tuple[CleanupFilter, str | None, str | None]:
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise BadRequest("Malformed request body")
    schemas.closed(body, None, set(CleanupRequest.model_fields))
    flags = {
        name: None if body.get(name) is None else schemas.boolean(body[name], name)
        for name in ("disabled", "is_up")
    }
    binary = body.get("binary")
    if binary is not None and binary not in BINARIES:
        raise schemas.invalid("binary", binary, f"{binary!r} is not one of {list(BINARIES)!r}")
    resource_type = body.get("resource_type")
    if resource_type:
        resource_type = str(resource_type).title()
        if resource_type not in RESOURCE_TYPES:
            raise exception.InvalidInput(
                reason=f"Resource type {resource_type} not valid, must be Volume or Snapshot"
            )
    resource_id = body.get("resource_id")
    if resource_id is not None:
        resource_id = schemas.uuid_value(resource_id, "resource_id")
    service_id = body.get("service_id")
    if service_id is not None:
        service_id = schemas.integer(service_id, "service_id", minimum=1)
    host = schemas.text(body.get("host"), "host")
    if resource_id and not {"service_id", "cluster_name", "host"} & set(body):
        return (
            CleanupFilter(binary=binary or None, is_up=bool(flags["is_up"])),
            resource_type,
            resource_id,
        )
    wanted = CleanupFilter(
        service_id=service_id,
        cluster_name=schemas.text(body.get("cluster_name"), "cluster_name"),
        host=host,
        binary=binary or None,
        is_up=bool(flags["is_up"]),
        disabled=flags["disabled"],
    )
    return wanted, resource_type, resource_id


@router.post(
    "/workers/cleanup",
    status_code=202,
    openapi_extra=since("3.24") | policies(CLEANUP) | request_model(CleanupRequest),
)
def cleanup_workers(ctx: ContextDep, deps: DepsDep, body: Any = Body(None)) -> Response:
    ctx.can(CLEANUP, {"project_id": ctx.project_id})
    wanted, resource_type, resource_id = _filter(body)
    if resource_id and wanted.host is None and wanted.service_id is None:
        resource_type, host = cleanup.locate(deps.db, resource_id, resource_type)
        wanted = CleanupFilter(host=host, binary=wanted.binary, is_up=wanted.is_up)
    until = utcnow().isoformat()
    found = cleanup.targets(deps.db, int(deps.opts.service_down_time), wanted)
    cleaning = [t for t in found if t.reachable]
    spec = CleanupSpec(until=until, resource_type=resource_type, resource_id=resource_id)
    call = CallContext.from_request(ctx)
    for target in cleaning:
        deps.volumes.do_cleanup(call, target.host, spec)
    unavailable = [t for t in found if not t.reachable]
    return json_response({"cleaning": _view(cleaning), "unavailable": _view(unavailable)}, 202)
