"""``/servers/{id}/os-volume_attachments``: a server's volumes; attach, detach, update, swap.

The attachment's id is the volume id (before 2.89; from 2.89 ``attachment_id`` and
``bdm_uuid`` instead). Fields by microversion: ``tag`` 2.70, ``delete_on_termination``
2.79; attach takes ``tag`` from 2.49 and ``delete_on_termination`` from 2.79; an update
changes delete_on_termination from 2.85 and swaps the volume (admins) when ``volumeId``
differs.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception, states
from tinystack.compute.api.bodies import body_part, gate
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.query import reject_unknown
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import (
    VolumeAttachment,
    VolumeAttachmentUpdate,
    VolumeAttachmentUpdateRequest,
    VolumeAttachRequest,
)
from tinystack.compute.objects import BlockDevice
from tinystack.compute.services import servers, volumes_attachments
from tinystack.compute.services.volumes_attachments import AttachmentUpdate, AttachRequest

router = APIRouter(tags=["volume attachments"])
P = "os_compute_api:os-volumes-attachments:%s"
BASE = "/servers/{server_id}/os-volume_attachments"
CREATE_GATES = {"tag": (2, 49), "delete_on_termination": (2, 79)}
UPDATE_GATES = {
    "device": (2, 85),
    "tag": (2, 85),
    "delete_on_termination": (2, 85),
    "serverId": (2, 85),
    "id": (2, 85),
}


def view(bdm: BlockDevice, version: Version) -> dict[str, Any]:
    """One attachment as the microversion shows it."""
    found: dict[str, Any] = {}
    if version < (2, 89):
        found["id"] = bdm.volume_id
    found["volumeId"] = bdm.volume_id
    found["serverId"] = bdm.instance_uuid
    if bdm.device_name:
        found["device"] = bdm.device_name
    if version >= (2, 70):
        found["tag"] = bdm.tag
    if version >= (2, 79):
        found["delete_on_termination"] = bdm.delete_on_termination
    if version >= (2, 89):
        found["attachment_id"] = bdm.attachment_id
        found["bdm_uuid"] = bdm.uuid
    return found


def _non_negative(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise BadRequest(
            f"Invalid input for query parameters {name}. Value: {raw}. "
            f"'{raw}' does not match '^[0-9]*$'"
        )
    return int(raw)


def _shelved_before_2_20(inst: Any, version: Version, action: str) -> None:
    if inst.vm_state in (states.SHELVED, states.SHELVED_OFFLOADED) and version < (2, 20):
        raise exception.InstanceInvalidState(action, inst.uuid, "vm_state", inst.vm_state)


@router.get(BASE, openapi_extra=policies(P % "index"))
def list_attachments(
    request: Request, server_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    reject_unknown(request, {"limit", "offset"}, version)
    inst = servers.get_authorized(deps, ctx, server_id, P % "index")
    limit = _non_negative(request, "limit")
    offset = _non_negative(request, "offset") or 0
    found = volumes_attachments.list_for(deps, inst)
    if version >= (2, 89):
        found = [b for b in found if b.attachment_id]
    maximum = int(deps.opts.max_limit)
    page = found[offset : offset + min(limit if limit is not None else maximum, maximum)]
    return json_response({"volumeAttachments": [view(b, version) for b in page]})


@router.get(BASE + "/{volume_id}", openapi_extra=policies(P % "show"))
def show_attachment(
    server_id: str, volume_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    inst = servers.get_authorized(deps, ctx, server_id, P % "show")
    bdm = volumes_attachments.get(deps, inst, volume_id)
    if version >= (2, 89) and not bdm.attachment_id:
        raise volumes_attachments.NotAttached(inst.uuid, volume_id)
    return json_response({"volumeAttachment": view(bdm, version)})


@router.post(BASE, openapi_extra=policies(P % "create") | request_model(VolumeAttachRequest))
def attach_volume(
    server_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    inst = servers.get_authorized(deps, ctx, server_id, P % "create")
    extra = sorted(set(body) - {"volumeAttachment"}) if isinstance(body, dict) else []
    if extra:
        raise BadRequest(f"Additional properties are not allowed ({extra[0]!r} was unexpected)")
    data = body_part(body, "volumeAttachment")
    gate(data, version, CREATE_GATES)
    model = VolumeAttachment.model_validate(data)
    _shelved_before_2_20(inst, version, "attach_volume")
    bdm = volumes_attachments.attach(
        deps,
        CallContext.from_request(ctx),
        inst,
        AttachRequest(
            volume_id=model.volumeId,
            device=model.device,
            tag=model.tag,
            delete_on_termination=bool(model.delete_on_termination),
            supports_multiattach=version >= (2, 60),
        ),
    )
    attachment: dict[str, Any] = {
        "id": bdm.volume_id,
        "serverId": inst.uuid,
        "volumeId": bdm.volume_id,
        "device": bdm.device_name,
    }
    if version >= (2, 70):
        attachment["tag"] = bdm.tag
    if version >= (2, 79):
        attachment["delete_on_termination"] = bdm.delete_on_termination
    return json_response({"volumeAttachment": attachment})


@router.put(
    BASE + "/{volume_id}",
    status_code=202,
    openapi_extra=policies(P % "update", P % "swap") | request_model(VolumeAttachmentUpdateRequest),
)
def update_attachment(
    server_id: str,
    volume_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    call = CallContext.from_request(ctx)
    inst = servers.get(deps, call, server_id)
    extra = sorted(set(body) - {"volumeAttachment"}) if isinstance(body, dict) else []
    if extra:
        raise BadRequest(f"Additional properties are not allowed ({extra[0]!r} was unexpected)")
    data = body_part(body, "volumeAttachment")
    gate(data, version, UPDATE_GATES)
    model = VolumeAttachmentUpdate.model_validate(data)
    only_swap = version < (2, 85)
    if only_swap or model.volumeId != volume_id:
        ctx.can(P % "swap", {})
    else:
        ctx.can(P % "update", {"project_id": inst.project_id})
    if not only_swap:
        volumes_attachments.update(deps, call, inst, volume_id, _update(model, data))
    if only_swap or model.volumeId != volume_id:
        volumes_attachments.swap(deps, call, inst, volume_id, model.volumeId)
    return Response(status_code=202)


def _update(model: VolumeAttachmentUpdate, data: dict[str, Any]) -> AttachmentUpdate:
    names = {"id": "id", "serverId": "server_id", "device": "device", "tag": "tag"}
    return AttachmentUpdate(
        volume_id=model.volumeId,
        id=model.id,
        server_id=model.serverId,
        device=model.device,
        tag=model.tag,
        delete_on_termination=model.delete_on_termination,
        given=frozenset(names[k] for k in data if k in names),
    )


@router.delete(BASE + "/{volume_id}", status_code=202, openapi_extra=policies(P % "delete"))
def detach_volume(
    server_id: str, volume_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    inst = servers.get_authorized(deps, ctx, server_id, P % "delete")
    _shelved_before_2_20(inst, version, "detach_volume")
    volumes_attachments.detach(deps, CallContext.from_request(ctx), inst, volume_id)
    return Response(status_code=202)
