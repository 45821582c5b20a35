"""A server's volumes (``os-volume_attachments``): list, attach, detach, update and swap.

Attach follows Nova's 3.44 flow: the mapping and its device name are written first (the
unique constraints refuse a second attach of the volume or a taken device), then the block
storage service reserves the volume for the instance (``POST /attachments``), the instance
action is recorded and the instance's agent is told to connect and plug it
(``agent/volumes.py``). A server that is shelved-offloaded has no host: its volume is only
reserved and marked in-use, and connected when it is unshelved. Detach marks the volume
``detaching`` and tells the agent, which unplugs it and ends the attachment.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tinystack.common.clients.session import ClientError
from tinystack.common.clients.volume import Volume, VolumeClient
from tinystack.common.exceptions import BadRequest, Conflict, NotFound
from tinystack.common.rpc import MessagingTimeout, RemoteError
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception, states
from tinystack.compute.objects import BlockDevice
from tinystack.compute.services import _volumes, block_devices, hosts, instance_actions, servers
from tinystack.compute.services._volumes import get_volume, translated
from tinystack.compute.services.block_devices import NewVolume
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.records import ServerRecord

LOG = logging.getLogger(__name__)

#: the vm_states attach and detach accept (as upstream's check_instance_state)
ATTACH_STATES = [
    states.ACTIVE,
    states.PAUSED,
    states.STOPPED,
    states.RESIZED,
    states.SOFT_DELETED,
    states.SHELVED,
    states.SHELVED_OFFLOADED,
]
SWAP_STATES = [states.ACTIVE, states.PAUSED, states.RESIZED]


def list_for(deps: Deps, inst: ServerRecord) -> list[BlockDevice]:
    """The server's volumes (mappings without a volume yet are left out)."""
    return [b for b in block_devices.list_for(deps.db, inst.uuid) if b.volume_id]


def get(deps: Deps, inst: ServerRecord, volume_id: str) -> BlockDevice:
    """The mapping of ``volume_id`` (NotFound when the server does not have it)."""
    try:
        return block_devices.find(deps.db, inst.uuid, volume_id)
    except exception.VolumeBDMNotFound:
        raise NotAttached(inst.uuid, volume_id) from None


class NotAttached(NotFound):
    def __init__(self, server_id: str, volume_id: str) -> None:
        super().__init__(f"Instance {server_id} is not attached to volume {volume_id}.")


@dataclass(frozen=True, slots=True)
class AttachRequest:
    volume_id: str
    device: str | None = None
    tag: str | None = None
    delete_on_termination: bool = False
    #: the request's microversion allows multiattach volumes (2.60)
    supports_multiattach: bool = False


def check_not_attached(deps: Deps, inst: ServerRecord, volume: Volume) -> None:
    """A volume that is not multiattach maps to one server; no server maps a volume twice."""
    users = block_devices.instances_using(deps.db, volume.id)
    if not users:
        return
    if not volume.multiattach:
        raise exception.InvalidVolume(
            f"volume {volume.id} is already attached to instances: {' '.join(users)}"
        )
    if inst.uuid in users:
        raise exception.InvalidVolume(f"volume {volume.id} already attached")


def check_zone(deps: Deps, inst: ServerRecord, volume: Volume) -> None:
    """Without ``cross_az_attach`` the volume must be in the server's zone."""
    if deps.opts.cross_az_attach:
        return
    zone = inst.availability_zone or deps.opts.default_availability_zone
    if zone != volume.availability_zone:
        raise exception.InvalidVolume(
            f"Instance {inst.uuid} and volume {volume.id} are not in the same "
            f"availability_zone. Instance is in {zone}. Volume is in {volume.availability_zone}"
        )


def attach(deps: Deps, ctx: CallContext, inst: ServerRecord, req: AttachRequest) -> BlockDevice:
    """Map, reserve and (through the agent) plug the volume; the new mapping."""
    servers.check_lock(ctx, inst)
    servers.check_state(inst, "attach_volume", ATTACH_STATES, [None])
    if req.device and not block_devices.valid_device(req.device):
        raise exception.InvalidDevicePath(req.device)
    volume = get_volume(deps, ctx, req.volume_id)
    check_not_attached(deps, inst, volume)
    offloaded = inst.vm_state == states.SHELVED_OFFLOADED
    if offloaded and req.tag:
        raise exception.VolumeTaggedAttachNotSupported(shelved=True)
    if offloaded and volume.multiattach:
        raise exception.MultiattachNotSupported(
            "Attaching multiattach volumes is not supported for shelved-offloaded instances."
        )
    if volume.multiattach and not req.supports_multiattach:
        raise exception.MultiattachNotSupported(
            "Multiattach volumes are only supported starting with compute API version 2.60."
        )
    check_zone(deps, inst, volume)
    if not offloaded and not inst.host:
        raise Conflict(f"Instance {inst.uuid} is not ready")
    if not offloaded:
        _check_host_can_attach(deps, ctx, inst, volume, bool(req.tag))
    new = NewVolume(
        volume_id=volume.id,
        volume_size=volume.size,
        device_name=req.device,
        delete_on_termination=req.delete_on_termination,
        tag=req.tag,
    )
    bdm = block_devices.reserve(deps.db, inst.uuid, new)
    attachment_id: str | None = None
    try:
        with translated(volume_id=volume.id):
            attachment_id = deps.volume.attachment_create(volume.id, inst.uuid, token=ctx.token).id
        bdm = block_devices.update(deps.db, bdm.uuid, {"attachment_id": attachment_id})
        instance_actions.record_start(deps.db, ctx, inst.uuid, instance_actions.ATTACH_VOLUME)
        if offloaded:
            # connected at unshelve; in-use now, as upstream keeps the old API's semantics
            with translated(volume_id=volume.id):
                deps.volume.attachment_complete(attachment_id, token=ctx.token)
        else:
            deps.agents.attach_volume(ctx, inst.host or "", inst.uuid, bdm)
    except BaseException:
        _undo_reserve(deps.volume, ctx, bdm, attachment_id)
        block_devices.destroy(deps.db, bdm.uuid)
        raise
    return bdm


def _check_host_can_attach(
    deps: Deps, ctx: CallContext, inst: ServerRecord, volume: Volume, tagged: bool
) -> None:
    """The host's driver refuses a tag or a multiattach volume it cannot attach: a 400
    now, as upstream's synchronous ``reserve_block_device_name``, not a rollback later."""
    try:
        deps.agents.check_volume_attach(
            ctx, inst.host or "", volume.id, multiattach=volume.multiattach, tagged=tagged
        )
    except RemoteError as exc:
        if exc.exc_type in ("MultiattachNotSupported", "VolumeTaggedAttachNotSupported"):
            raise BadRequest(exc.message) from exc
        raise
    except MessagingTimeout as exc:
        raise Conflict(f"The compute service of {inst.uuid} did not answer in time") from exc


def _undo_reserve(
    client: VolumeClient, ctx: CallContext, bdm: BlockDevice, attachment_id: str | None
) -> None:
    if not attachment_id:
        return
    try:
        client.attachment_delete(attachment_id, token=ctx.token)
    except ClientError as exc:
        LOG.warning("cannot delete attachment %s of %s: %s", attachment_id, bdm.volume_id, exc)


def detach(deps: Deps, ctx: CallContext, inst: ServerRecord, volume_id: str) -> None:
    """Mark the volume detaching and have the agent unplug it (or, for a shelved-offloaded
    server, end the attachment here)."""
    volume = get_volume(deps, ctx, volume_id)
    bdm = get(deps, inst, volume_id)
    if bdm.is_root:
        raise BadRequest("Cannot detach a root device volume")
    servers.check_lock(ctx, inst)
    servers.check_state(inst, "detach_volume", ATTACH_STATES, [None])
    if inst.vm_state == states.SHELVED_OFFLOADED:
        instance_actions.record_start(deps.db, ctx, inst.uuid, instance_actions.DETACH_VOLUME)
        _volumes.release(deps.volume, ctx, bdm)
        block_devices.destroy(deps.db, bdm.uuid)
        return
    _check_host_up(deps, inst)
    with translated(volume_id=volume.id):
        try:
            deps.volume.begin_detaching(volume.id, token=ctx.token)
        except ClientError as exc:
            if exc.status == 400:
                raise exception.InvalidVolume(exc.message) from exc
            raise
    instance_actions.record_start(deps.db, ctx, inst.uuid, instance_actions.DETACH_VOLUME)
    try:
        deps.agents.detach_volume(ctx, inst.host or "", inst.uuid, volume.id, bdm.attachment_id)
    except BaseException:
        with translated(volume_id=volume.id):
            deps.volume.roll_detaching(volume.id, token=ctx.token)
        raise


def _check_host_up(deps: Deps, inst: ServerRecord) -> None:
    if not inst.host:
        raise Conflict(f"Instance {inst.uuid} is not ready")
    try:
        svc = hosts.find_service(deps.db, inst.host, hosts.COMPUTE_BINARY)
    except exception.ComputeHostNotFound:
        raise Conflict("Service is unavailable at this time.") from None
    if not hosts.service_up_checker(deps.opts)(svc):
        raise Conflict("Service is unavailable at this time.")


# -- update and swap --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AttachmentUpdate:
    """What ``PUT .../os-volume_attachments/{volume_id}`` sends (2.85: any of the view's
    fields, of which only delete_on_termination may change)."""

    volume_id: str
    id: str | None = None
    server_id: str | None = None
    device: str | None = None
    tag: str | None = None
    delete_on_termination: bool | None = None
    #: which of the optional fields the request had
    given: frozenset[str] = frozenset()


def update(
    deps: Deps, ctx: CallContext, inst: ServerRecord, volume_id: str, req: AttachmentUpdate
) -> BlockDevice:
    """Change delete_on_termination (2.85); the others must keep their values."""
    bdm = get(deps, inst, volume_id)
    if "id" in req.given and req.id != volume_id:
        raise BadRequest("The id property is not mutable")
    if "server_id" in req.given and req.server_id != inst.uuid:
        raise BadRequest("The serverId property is not mutable")
    if "device" in req.given and req.device != bdm.device_name:
        raise BadRequest("The device property is not mutable")
    if "tag" in req.given and req.tag != bdm.tag:
        raise BadRequest("The tag property is not mutable")
    if req.delete_on_termination is not None:
        bdm = block_devices.update(
            deps.db, bdm.uuid, {"delete_on_termination": req.delete_on_termination}
        )
    return bdm


def swap(
    deps: Deps, ctx: CallContext, inst: ServerRecord, old_volume_id: str, new_volume_id: str
) -> None:
    """Copy the old volume to the new one under the running guest (the block storage
    service asks for this while it migrates a volume)."""
    old = get_volume(deps, ctx, old_volume_id)
    if not old.migration_status:
        raise Conflict(
            f"volume {old_volume_id} is not migrating; this API should only be called by Cinder"
        )
    try:
        new = get_volume(deps, ctx, new_volume_id)
    except exception.VolumeNotFound as exc:
        raise BadRequest(exc.message) from None
    servers.check_lock(ctx, inst)
    servers.check_state(inst, "swap_volume", SWAP_STATES, [None])
    bdm = block_devices.find(deps.db, inst.uuid, old.id)
    if old.attachment_of(inst.uuid) is None:
        raise exception.InvalidVolume("Old volume is attached to a different instance.")
    if new.attach_status == "attached":
        raise exception.InvalidVolume("New volume must be detached in order to swap.")
    if new.size < old.size:
        raise exception.InvalidVolume("New volume must be the same size or larger.")
    check_zone(deps, inst, new)
    with translated(volume_id=old.id):
        deps.volume.begin_detaching(old.id, token=ctx.token)
    new_attachment: str | None = None
    try:
        check_not_attached(deps, inst, new)
        with translated(volume_id=new.id):
            new_attachment = deps.volume.attachment_create(new.id, inst.uuid, token=ctx.token).id
        instance_actions.record_start(deps.db, ctx, inst.uuid, instance_actions.SWAP_VOLUME)
        deps.agents.swap_volume(ctx, inst.host or "", inst.uuid, bdm, new.id, new_attachment)
    except BaseException:
        with translated(volume_id=old.id):
            deps.volume.roll_detaching(old.id, token=ctx.token)
        if new_attachment:
            _undo_reserve(deps.volume, ctx, bdm, new_attachment)
        raise
