"""``/os-assisted-volume-snapshots``: the block storage service has compute snapshot a
file volume attached to a server (create) and merge such a snapshot away (delete)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.context import CallContext
from tinystack.compute.api.bodies import body_part, unexpected
from tinystack.compute.api.deps import ContextDep, DepsDep
from tinystack.compute.api.rendering import json_response
from tinystack.compute.api.schemas import AssistedSnapshotCreateRequest
from tinystack.compute.services import assisted_volume_snapshots

router = APIRouter(tags=["assisted volume snapshots"])
P = "os_compute_api:os-assisted-volume-snapshots:%s"
#: create_info's fields (the first three required) as upstream's schema has them
CREATE_INFO = ("snapshot_id", "type", "new_file", "id")


def _string(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequest(f"Invalid input for field/attribute {name}. Value: {value!r}.")
    return value


def _create_info(snapshot: dict[str, Any]) -> dict[str, Any]:
    extra = sorted(set(snapshot) - {"volume_id", "create_info"})
    if extra:
        raise unexpected(extra)
    info = body_part(snapshot, "create_info")
    extra = sorted(set(info) - set(CREATE_INFO))
    if extra:
        raise unexpected(extra)
    for name in CREATE_INFO[:3]:
        if name not in info:
            raise BadRequest(
                f"Invalid input for field/attribute create_info. '{name}' is a required property"
            )
    for name in CREATE_INFO:
        if name in info:
            _string(info[name], name)
    if info["type"] != "qcow2":
        raise BadRequest(
            f"Invalid input for field/attribute type. Value: {info['type']}. "
            f"'{info['type']}' is not one of ['qcow2']"
        )
    return info


@router.post(
    "/os-assisted-volume-snapshots",
    openapi_extra=policies(P % "create") | request_model(AssistedSnapshotCreateRequest),
)
def create_assisted_snapshot(
    ctx: ContextDep, deps: DepsDep, body: dict[str, Any] = Body(...)
) -> Response:
    ctx.can(P % "create", {})
    if set(body) - {"snapshot"}:
        raise unexpected(sorted(set(body) - {"snapshot"}))
    snapshot = body_part(body, "snapshot")
    if "volume_id" not in snapshot:
        raise BadRequest(
            "Invalid input for field/attribute snapshot. 'volume_id' is a required property"
        )
    volume_id = _string(snapshot["volume_id"], "volume_id")
    info = _create_info(snapshot)
    answer = assisted_volume_snapshots.create(deps, CallContext.from_request(ctx), volume_id, info)
    return json_response({"snapshot": answer})


@router.delete("/os-assisted-volume-snapshots/{snapshot_id}", openapi_extra=policies(P % "delete"))
def delete_assisted_snapshot(
    snapshot_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    ctx.can(P % "delete", {})
    raw = request.query_params.get("delete_info")
    if raw is None:
        raise BadRequest("'delete_info'")
    try:
        delete_info = json.loads(raw)
        volume_id = delete_info["volume_id"]
    except (ValueError, TypeError, KeyError) as exc:
        raise BadRequest(str(exc)) from None
    if not isinstance(volume_id, str) or not isinstance(delete_info, dict):
        raise BadRequest(f"Invalid volume_id {volume_id!r}")
    assisted_volume_snapshots.delete(
        deps, CallContext.from_request(ctx), volume_id, snapshot_id, delete_info
    )
    return Response(status_code=204)
