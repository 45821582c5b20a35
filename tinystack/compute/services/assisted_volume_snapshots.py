"""Assisted volume snapshots (``os-assisted-volume-snapshots``): the block storage service
asks compute to snapshot a file volume attached to a server (the hypervisor switches the
guest to a new overlay file) and to merge such a snapshot away. Each request goes to the
agent of the server's host; the agent tells the service how it went through the
snapshot's ``os-update_snapshot_status``.
"""

from __future__ import annotations

from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.compute import exception
from tinystack.compute.services import block_devices, instances
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.records import ServerRecord
from tinystack.compute.services.servers import check_state


def _server_of(deps: Deps, volume_id: str, action: str) -> ServerRecord:
    """The one server the volume is attached to, ready for ``action`` (as upstream, any
    problem is a 400: these APIs predate the 409s)."""
    users = block_devices.instances_using(deps.db, volume_id)
    if not users:
        raise BadRequest(exception.VolumeBDMNotFound(volume_id).message)
    if len(users) > 1:
        raise BadRequest(
            f"Block Device Mapping {volume_id} is a multi-attach volume and is not "
            "valid for this operation."
        )
    inst = instances.get(deps.db, users[0])
    if not inst.host:
        raise BadRequest(f"Instance {inst.uuid} is not ready")
    try:
        check_state(inst, action)
    except exception.InstanceInvalidState as exc:
        raise BadRequest(exc.message) from None
    return inst


def create(deps: Deps, ctx: CallContext, volume_id: str, create_info: dict[str, JSON]) -> JSON:
    """Cast the snapshot to the server's agent; the answer upstream gives."""
    inst = _server_of(deps, volume_id, "volume_snapshot_create")
    deps.agents.volume_snapshot_create(ctx, inst.host or "", inst.uuid, volume_id, create_info)
    return {"id": create_info.get("id"), "volumeId": volume_id}


def delete(
    deps: Deps, ctx: CallContext, volume_id: str, snapshot_id: str, delete_info: dict[str, JSON]
) -> None:
    inst = _server_of(deps, volume_id, "volume_snapshot_delete")
    deps.agents.volume_snapshot_delete(
        ctx, inst.host or "", inst.uuid, volume_id, snapshot_id, delete_info
    )
