"""``/types/{type_id}/encryption``: a volume type's encryption specs (admin)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.volume import exception
from tinystack.volume.api import encryption_schemas
from tinystack.volume.api.deps import ContextDep, DepsDep
from tinystack.volume.api.rendering import cinder_time, json_response
from tinystack.volume.services import type_encryption
from tinystack.volume.services.type_encryption import EncryptionRecord

router = APIRouter(tags=["volume type encryption"])
CREATE = "volume_extension:volume_type_encryption:create"
GET = "volume_extension:volume_type_encryption:get"
UPDATE = "volume_extension:volume_type_encryption:update"
DELETE = "volume_extension:volume_type_encryption:delete"
BODY = encryption_schemas.EncryptionRequest


def _view(found: EncryptionRecord | None) -> dict[str, Any]:
    """Upstream's row as a dict: ``{}`` for a type without encryption."""
    if found is None:
        return {}
    return {
        "volume_type_id": found.volume_type_id,
        "encryption_id": found.encryption_id,
        "provider": found.provider,
        "cipher": found.cipher,
        "key_size": found.key_size,
        "control_location": found.control_location,
        "created_at": cinder_time(found.created_at),
        "updated_at": cinder_time(found.updated_at),
        "deleted": False,
        "deleted_at": None,
    }


@router.get("/types/{type_id}/encryption", openapi_extra=policies(GET))
def show_encryption(type_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(GET, {"project_id": ctx.project_id})
    return json_response(_view(type_encryption.get(deps.db, type_id)))


@router.get("/types/{type_id}/encryption/{key}", openapi_extra=policies(GET))
def show_encryption_spec(type_id: str, key: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(GET, {"project_id": ctx.project_id})
    view = _view(type_encryption.get(deps.db, type_id))
    if key not in view:
        raise exception.VolumeTypeEncryptionNotFound(type_id=type_id)
    return json_response({key: view[key]})


@router.post("/types/{type_id}/encryption", openapi_extra=policies(CREATE) | request_model(BODY))
def create_encryption(
    type_id: str, ctx: ContextDep, deps: DepsDep, body: Any = Body(None)
) -> Response:
    ctx.can(CREATE, {"project_id": ctx.project_id})
    changes, echoed = encryption_schemas.encryption(body, create=True)
    found = type_encryption.create(deps.db, type_id, changes)
    echoed |= {"volume_type_id": found.volume_type_id, "encryption_id": found.encryption_id}
    return json_response({"encryption": echoed})


@router.put(
    "/types/{type_id}/encryption/{encryption_id}",
    openapi_extra=policies(UPDATE) | request_model(BODY),
)
def update_encryption(
    type_id: str, encryption_id: str, ctx: ContextDep, deps: DepsDep, body: Any = Body(None)
) -> Response:
    ctx.can(UPDATE, {"project_id": ctx.project_id})
    changes, echoed = encryption_schemas.encryption(body, create=False)
    type_encryption.update(deps.db, type_id, changes)
    return json_response({"encryption": echoed})


@router.delete(
    "/types/{type_id}/encryption/{encryption_id}",
    status_code=202,
    openapi_extra=policies(DELETE),
)
def delete_encryption(type_id: str, encryption_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(DELETE, {"project_id": ctx.project_id})
    type_encryption.delete(deps.db, type_id)
    return Response(status_code=202)
