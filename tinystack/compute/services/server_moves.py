"""Server actions that move or re-image a server: resize, migrate, rebuild, snapshots,
shelve and unshelve."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.clients.session import ClientError
from tinystack.common.clients.volume import Volume
from tinystack.common.exceptions import BadRequest, Conflict
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception, models, states
from tinystack.compute.objects import Destination, MoveRequest
from tinystack.compute.services import (
    _rows,
    availability_zones,
    block_devices,
    flavors,
    hosts,
    instance_actions,
    instances,
    migrations,
    quotas,
    server_create,
    servers,
    volume_images,
)
from tinystack.compute.services._volumes import get_volume
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.records import ServerRecord
from tinystack.compute.services.server_actions import begin

LOG = logging.getLogger(__name__)
T = states.Task
SNAPSHOT_STATES = [states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED]


# -- resize and migrate -----------------------------------------------------------------------
def resize(
    deps: Deps, ctx: CallContext, uuid: str, flavor_ref: str, auto_disk_config: bool = False
) -> None:
    inst = servers.get(deps, ctx, uuid)
    try:
        new = flavors.get(deps.db, flavor_ref, flavors.Viewer(ctx.project_id, ctx.is_admin))
    except exception.FlavorNotFound as exc:
        raise BadRequest(exc.message) from None
    current = inst.flavor or {}
    if new.flavorid == current.get("flavorid"):
        raise BadRequest("When resizing, instances must change flavor!")
    if new.disabled:
        raise BadRequest("Flavor is disabled.")
    if new.root_gb < int(current.get("root_gb") or 0) and not (inst.request_spec or {}).get(
        "is_bfv"
    ):
        raise BadRequest("Resizing to a smaller disk flavor is not allowed.")
    snapshot = flavors.snapshot(new)

    def check(session: Session) -> None:
        quotas.check_resize(
            session,
            deps.opts,
            inst.project_id,
            inst.user_id,
            cores=new.vcpus - int(current.get("vcpus") or 0),
            ram=new.memory_mb - int(current.get("memory_mb") or 0),
        )

    with deps.db.reader() as session:
        check(session)
    begin(
        deps,
        ctx,
        uuid,
        "resize",
        vm_states=[states.ACTIVE, states.STOPPED],
        new_task_state=T.RESIZE_PREP,
        record=instance_actions.RESIZE,
        # as upstream: the disk config of a resize is the one asked for, else MANUAL
        updates={"progress": 0, "auto_disk_config": auto_disk_config},
    )
    deps.conductor.migrate_server(ctx, uuid, _move_spec(deps, inst), snapshot, "resize")


def migrate(deps: Deps, ctx: CallContext, uuid: str, host: str | None) -> None:
    inst = servers.get(deps, ctx, uuid)
    if host is not None:
        try:
            hosts.find_service(deps.db, host, hosts.COMPUTE_BINARY)
        except exception.ComputeHostNotFound as exc:
            raise exception.ComputeHostNotFound(host) from exc
        if host == inst.host:
            raise BadRequest(f"Unable to migrate instance ({uuid}) to current host ({host}).")
    begin(
        deps,
        ctx,
        uuid,
        "migrate",
        vm_states=[states.ACTIVE, states.STOPPED],
        new_task_state=T.RESIZE_PREP,
        record=instance_actions.MIGRATE,
        updates={"progress": 0, "auto_disk_config": False},
    )
    spec = _move_spec(deps, inst, prefer_other_host=True)
    if host:
        spec = replace(spec, requested_destination=Destination(host=host), same_host_last=False)
    deps.conductor.migrate_server(ctx, uuid, spec, None, "migration")


def _move_spec(deps: Deps, inst: ServerRecord, prefer_other_host: bool = False) -> MoveRequest:
    same_host = bool(deps.opts.allow_resize_to_same_host)
    if not same_host or prefer_other_host:
        return MoveRequest(ignore_hosts=(inst.host,) if inst.host else (), same_host_last=same_host)
    return MoveRequest()


def _resize_migration(deps: Deps, inst: ServerRecord) -> models.Migration:
    found = _rows.latest_migration(deps.db, inst.uuid, ("finished",))
    if found is None:
        raise BadRequest("Instance has not been resized.")
    return found


def confirm_resize(deps: Deps, ctx: CallContext, uuid: str) -> None:
    inst = servers.get(deps, ctx, uuid)
    servers.check_state(inst, "confirmResize", [states.RESIZED], [None])
    mig = _resize_migration(deps, inst)
    inst = begin(
        deps,
        ctx,
        uuid,
        "confirmResize",
        vm_states=[states.RESIZED],
        new_task_state=None,
        record=instance_actions.CONFIRM_RESIZE,
        check_locked=True,
    )
    migrations.update(deps.db, mig.uuid, status="confirming")
    deps.agents.confirm_resize(ctx, mig.source_compute or "", uuid, mig.uuid)


def revert_resize(deps: Deps, ctx: CallContext, uuid: str) -> None:
    inst = servers.get(deps, ctx, uuid)
    servers.check_state(inst, "revertResize", [states.RESIZED], [None])
    mig = _resize_migration(deps, inst)
    begin(
        deps,
        ctx,
        uuid,
        "revertResize",
        vm_states=[states.RESIZED],
        new_task_state=T.RESIZE_REVERTING,
        record=instance_actions.REVERT_RESIZE,
    )
    migrations.update(deps.db, mig.uuid, status="reverting")
    deps.agents.revert_resize(ctx, mig.dest_compute or inst.host or "", uuid, mig.uuid)


# -- rebuild ----------------------------------------------------------------------------------
@dataclass
class RebuildRequest:
    image_ref: str
    name: str | None = None
    admin_password: str | None = None
    metadata: dict[str, str] | None = None
    access_ip_v4: str | None = None
    access_ip_v6: str | None = None
    description: Any = field(default=...)
    key_name: Any = field(default=...)
    user_data: Any = field(default=...)
    hostname: str | None = None
    auto_disk_config: bool | None = None
    trusted_certs: Any = field(default=...)
    #: 2.93: a volume-backed server's root volume is re-imaged (with a new image or its own)
    reimage_boot_volume: bool = False


def rebuild(deps: Deps, ctx: CallContext, uuid: str, req: RebuildRequest) -> ServerRecord:
    inst = servers.get(deps, ctx, uuid)
    image_id = req.image_ref.rstrip("/").rsplit("/", 1)[-1]
    image = server_create.lookup_image(deps, ctx, image_id)
    root = _volume_backed_root(deps, ctx, inst)
    reimage = False
    if root is not None:
        reimage = _check_volume_backed_rebuild(root, image_id, req.reimage_boot_volume)
    if image.get("status") != "active":
        raise BadRequest(f"Image {image_id} is not active.")
    if server_create.image_int(image, "min_ram") > int((inst.flavor or {}).get("memory_mb") or 0):
        raise BadRequest("Flavor's memory is too small for requested image.")
    if root is not None:
        _check_min_disk(image, root)
    # as upstream, a volume-backed server keeps its empty image_ref
    updates: instances.InstanceUpdates = {} if root is not None else {"image_ref": image_id}
    sysmeta = dict(inst.system_metadata or {})
    sysmeta.update(
        image_name=image.get("name") or "",
        image_disk_format=image.get("disk_format"),
        image_container_format=image.get("container_format"),
        image_min_ram=image.get("min_ram") or 0,
        image_min_disk=image.get("min_disk") or 0,
        image_properties=server_create.image_properties(image),
    )
    updates["system_metadata"] = sysmeta
    if req.name is not None:
        updates["display_name"] = req.name
    if req.metadata is not None:
        quotas.check_metadata(deps.opts, None, req.metadata)
        updates["user_metadata"] = dict(req.metadata)
    if req.access_ip_v4 is not None:
        updates["access_ip_v4"] = req.access_ip_v4
    if req.access_ip_v6 is not None:
        updates["access_ip_v6"] = req.access_ip_v6
    if req.description is not ...:
        updates["display_description"] = req.description
    if req.user_data is not ...:
        updates["user_data"] = req.user_data
    if req.hostname is not None:
        updates["hostname"] = req.hostname
    if req.auto_disk_config is not None:
        updates["auto_disk_config"] = req.auto_disk_config
    if req.trusted_certs is not ...:
        updates["trusted_certs"] = req.trusted_certs
    if req.key_name is not ...:
        updates.update(_key_update(deps, ctx, req.key_name))
    orig_vm_state = inst.vm_state
    inst = begin(
        deps,
        ctx,
        uuid,
        "rebuild",
        vm_states=[states.ACTIVE, states.STOPPED, states.ERROR],
        new_task_state=T.REBUILDING,
        record=instance_actions.REBUILD,
        updates=updates,
    )
    timeout = 0.0
    if reimage:
        size_gb = -(-server_create.image_int(image, "size") // GiB)
        timeout = float(deps.opts.reimage_timeout_per_gb * max(1, size_gb))
    deps.agents.rebuild_instance(
        ctx,
        inst.host or "",
        uuid,
        orig_vm_state,
        req.admin_password,
        reimage_image_id=image_id if reimage else None,
        reimage_timeout=timeout,
    )
    return inst


GiB = 1024**3


def _volume_backed_root(deps: Deps, ctx: CallContext, inst: ServerRecord) -> Volume | None:
    """The root volume of a volume-backed server (None for an image-backed one)."""
    root = next((b for b in block_devices.list_for(deps.db, inst.uuid) if b.is_root), None)
    if root is None:
        return None
    return get_volume(deps, ctx, root.volume_id or "")


def _check_volume_backed_rebuild(root: Volume, image_id: str, reimage_allowed: bool) -> bool:
    """Whether the root volume is re-imaged: from 2.93 on every rebuild, with the volume's
    own image too (upstream's ``reimage_boot_volume``: the rebuild starts from a fresh
    copy of the image, as an image-backed server's does); before, only the volume's own
    image is accepted and the volume is kept as it is. The volume must be in use by the
    server (upstream's check_attached), or still reserved for it after a re-image that
    failed (upstream would refuse that server any further rebuild)."""
    if not reimage_allowed:
        if root.image_metadata.get("image_id") == image_id:
            return False
        raise BadRequest(
            f"Image {image_id} is unacceptable: Unable to rebuild with a different image for "
            "a volume-backed server."
        )
    if root.status not in ("in-use", "reserved"):
        raise exception.InvalidVolume(
            f"volume '{root.id}' status must be 'in-use'. Currently in '{root.status}' status"
        )
    return True


def _check_min_disk(image: server_create.Image, root: Volume) -> None:
    """The image's min_disk against the root volume's size (upstream's
    VolumeSmallerThanMinDisk); the image's own size is the block storage service's check."""
    min_disk = server_create.image_int(image, "min_disk") * GiB
    if min_disk > root.size * GiB:
        raise BadRequest(
            "Volume is smaller than the minimum size specified in image metadata. Volume size "
            f"is {root.size * GiB} bytes, minimum size is {min_disk} bytes."
        )


def _key_update(deps: Deps, ctx: CallContext, key_name: str | None) -> instances.InstanceUpdates:
    if key_name is None:
        return {"key_name": None, "key_data": None}
    with deps.db.reader() as session:
        found = session.scalars(
            select(models.KeyPair).where(
                models.KeyPair.user_id == (ctx.user_id or ""), models.KeyPair.name == key_name
            )
        ).first()
    if found is None:
        raise BadRequest("Invalid key_name provided.")
    return {"key_name": found.name, "key_data": found.public_key}


# -- snapshots --------------------------------------------------------------------------------
def _snapshot_image(
    deps: Deps, ctx: CallContext, inst: ServerRecord, name: str, extra: dict[str, Any]
) -> str:
    body = _snapshot_body(ctx, inst, name, extra)
    if not deps.image.available():
        raise Conflict("The image service is not available.")
    try:
        return str(deps.image.create(body, token=ctx.token)["id"])
    except ClientError as exc:
        if exc.status == 413:
            raise exception.QuotaExceeded(exc.message) from exc
        raise BadRequest(f"The image service refused the snapshot: {exc.message}") from exc


def _snapshot_body(
    ctx: CallContext, inst: ServerRecord, name: str, extra: dict[str, Any]
) -> dict[str, Any]:
    """The image a snapshot of the instance becomes (its image's properties, the
    snapshot's own)."""
    sysmeta = inst.system_metadata or {}
    props = {
        k: str(v)
        for k, v in (sysmeta.get("image_properties") or {}).items()
        if isinstance(v, str | int | float | bool)
    }
    body: dict[str, Any] = {
        **props,
        "name": name,
        "disk_format": sysmeta.get("image_disk_format") or "qcow2",
        "container_format": sysmeta.get("image_container_format") or "bare",
        "min_ram": int(sysmeta.get("image_min_ram") or 0),
        "min_disk": max(
            int(sysmeta.get("image_min_disk") or 0), int((inst.flavor or {}).get("root_gb") or 0)
        ),
        "image_type": "snapshot",
        "instance_uuid": inst.uuid,
        "user_id": ctx.user_id or inst.user_id,
        "base_image_ref": inst.image_ref or "",
        **{k: str(v) for k, v in extra.items()},
    }
    return body


def create_image(
    deps: Deps, ctx: CallContext, uuid: str, name: str, metadata: dict[str, str]
) -> str:
    inst = servers.get(deps, ctx, uuid)
    servers.check_lock(ctx, inst)
    servers.check_state(inst, "createImage", SNAPSHOT_STATES, [None])
    if not inst.host:
        raise Conflict(f"Instance {uuid} is not ready")
    quotas.check_metadata(deps.opts, None, metadata)
    if block_devices.is_volume_backed(deps.db, uuid):
        body = _snapshot_body(ctx, inst, name, metadata)
        return volume_images.snapshot(deps, ctx, inst, body)
    image_id = _snapshot_image(deps, ctx, inst, name, metadata)
    try:
        begin(
            deps,
            ctx,
            uuid,
            "createImage",
            vm_states=SNAPSHOT_STATES,
            new_task_state=T.IMAGE_SNAPSHOT,
            record=instance_actions.CREATE_IMAGE,
        )
    except Exception:
        deps.image.delete(image_id)
        raise
    deps.agents.snapshot_instance(ctx, inst.host or "", uuid, image_id)
    return image_id


def create_backup(
    deps: Deps,
    ctx: CallContext,
    uuid: str,
    name: str,
    backup_type: str,
    rotation: int,
    metadata: dict[str, str],
) -> str:
    inst = servers.get(deps, ctx, uuid)
    servers.check_lock(ctx, inst)
    servers.check_state(inst, "createBackup", SNAPSHOT_STATES, [None])
    if not inst.host:
        raise Conflict(f"Instance {uuid} is not ready")
    if block_devices.is_volume_backed(deps.db, uuid):
        raise BadRequest("Backup is not supported for volume-backed instances.")
    extra = {**metadata, "backup_type": backup_type, "image_type": "backup"}
    image_id = _snapshot_image(deps, ctx, inst, name, extra)
    try:
        begin(
            deps,
            ctx,
            uuid,
            "createBackup",
            vm_states=SNAPSHOT_STATES,
            new_task_state=T.IMAGE_BACKUP,
            record=instance_actions.BACKUP,
        )
    except Exception:
        deps.image.delete(image_id)
        raise
    # the agent uploads, then keeps the ``rotation`` newest backups of this type
    deps.agents.snapshot_instance(ctx, inst.host or "", uuid, image_id, backup_type, rotation)
    return image_id


# -- shelve -----------------------------------------------------------------------------------
def shelve(deps: Deps, ctx: CallContext, uuid: str) -> None:
    inst = servers.get(deps, ctx, uuid)
    servers.check_lock(ctx, inst)
    servers.check_state(inst, "shelve", SNAPSHOT_STATES, [None])
    if block_devices.is_volume_backed(deps.db, uuid):
        # its disk is a volume: nothing to upload, the server leaves its host at once
        inst = begin(
            deps,
            ctx,
            uuid,
            "shelve",
            vm_states=SNAPSHOT_STATES,
            new_task_state=T.SHELVING_OFFLOADING,
            record=instance_actions.SHELVE,
        )
        deps.agents.shelve_offload_instance(ctx, inst.host or "", uuid)
        return
    image_id = _snapshot_image(deps, ctx, inst, f"{inst.display_name}-shelved", {})
    try:
        inst = begin(
            deps,
            ctx,
            uuid,
            "shelve",
            vm_states=SNAPSHOT_STATES,
            new_task_state=T.SHELVING,
            record=instance_actions.SHELVE,
        )
    except Exception:
        deps.image.delete(image_id)
        raise
    deps.agents.shelve_instance(ctx, inst.host or "", uuid, image_id)


def shelve_offload(deps: Deps, ctx: CallContext, uuid: str) -> None:
    inst = begin(
        deps,
        ctx,
        uuid,
        "shelveOffload",
        vm_states=[states.SHELVED],
        new_task_state=T.SHELVING_OFFLOADING,
        record=instance_actions.SHELVE_OFFLOAD,
    )
    deps.agents.shelve_offload_instance(ctx, inst.host or "", uuid)


def unshelve(
    deps: Deps, ctx: CallContext, uuid: str, *, zone: Any = ..., host: str | None = None
) -> None:
    inst = servers.get(deps, ctx, uuid)
    servers.check_lock(ctx, inst)
    servers.check_state(inst, "unshelve", [states.SHELVED, states.SHELVED_OFFLOADED], [None])
    spec = MoveRequest()
    if zone is not ... and zone is not None:
        if inst.vm_state != states.SHELVED_OFFLOADED:
            raise Conflict(
                f"The unshelve action on instance {uuid} requires a shelved offloaded state"
            )
        availability_zones.check_requested(deps, zone)
        spec = replace(spec, availability_zone=zone)
    if host:
        if inst.vm_state != states.SHELVED_OFFLOADED:
            raise Conflict(
                f"The unshelve action on instance {uuid} requires a shelved offloaded state"
            )
        hosts.find_service(deps.db, host, hosts.COMPUTE_BINARY)
        spec = replace(spec, requested_destination=Destination(host=host))
    updates: instances.InstanceUpdates = {}
    if zone is None:
        request_spec = dict(inst.request_spec or {})
        request_spec["availability_zone"] = None
        updates["request_spec"] = request_spec
    elif zone is not ...:
        request_spec = dict(inst.request_spec or {})
        request_spec["availability_zone"] = zone
        updates["request_spec"] = request_spec
    begin(
        deps,
        ctx,
        uuid,
        "unshelve",
        vm_states=[states.SHELVED, states.SHELVED_OFFLOADED],
        new_task_state=T.UNSHELVING,
        record=instance_actions.UNSHELVE,
        updates=updates,
        need_host=False,
    )
    if inst.vm_state == states.SHELVED:
        deps.agents.unshelve_on_host(ctx, inst.host or "", uuid)
    else:
        deps.conductor.unshelve_instance(ctx, uuid, spec)
