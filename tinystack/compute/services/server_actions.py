"""Server actions that change state in place: power, lock, rescue, reset, console output, groups.

Every action: load (404 for other projects), check the lock and states (409),
save the new task_state only if the row still is in the expected state
(optimistic), record the instance action, then cast to the host's agent.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.clients.session import ClientError
from tinystack.common.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    NotImplementedYet,
)
from tinystack.common.rpc import MessagingTimeout, RemoteError
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception, models, states
from tinystack.compute.objects import ImageMeta
from tinystack.compute.rpcapi import ComputeAgentAPI
from tinystack.compute.services import block_devices, images, instance_actions, instances, servers
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.records import ServerRecord

T = states.Task


def begin(
    deps: Deps,
    ctx: CallContext,
    uuid: str,
    action: str,
    *,
    vm_states: list[str] | None,
    task_states: list[str | None] | None = None,
    new_task_state: str | None,
    record: str | None,
    updates: instances.InstanceUpdates | None = None,
    check_locked: bool = True,
    need_host: bool = True,
) -> ServerRecord:
    """Check and move an instance into ``new_task_state``; returns the saved row."""
    expected_tasks: list[str | None] = list(task_states) if task_states is not None else [None]
    inst = servers.get(deps, ctx, uuid)
    if check_locked:
        servers.check_lock(ctx, inst)
    servers.check_state(inst, action, vm_states, expected_tasks)
    if need_host and not inst.host:
        raise Conflict(f"Instance {uuid} is not ready")

    def write(session: Session) -> ServerRecord:
        row = instances.save_in(
            session,
            uuid,
            {"task_state": new_task_state, **(updates or {})},
            expected_task_state=expected_tasks,
            expected_vm_state=vm_states if vm_states is not None else instances._ANY,
        )
        if record:
            instance_actions.start(session, ctx, uuid, record)
        return row

    try:
        return deps.db.write(write)
    except exception.UnexpectedTaskState as exc:
        raise exception.InstanceInvalidState(action, uuid, "task_state", exc.actual) from None


def reboot(deps: Deps, ctx: CallContext, uuid: str, reboot_type: str) -> None:
    hard = reboot_type.upper() == "HARD"
    if hard:
        inst = begin(
            deps,
            ctx,
            uuid,
            "reboot",
            vm_states=states.ALLOW_HARD_REBOOT,
            task_states=states.ALLOW_REBOOT,
            new_task_state=T.REBOOTING_HARD,
            record="reboot",
        )
    else:
        inst = begin(
            deps,
            ctx,
            uuid,
            "reboot",
            vm_states=states.ALLOW_SOFT_REBOOT,
            task_states=[None],
            new_task_state=T.REBOOTING,
            record="reboot",
        )
    deps.agents.reboot_instance(ctx, inst.host or "", inst.uuid, "HARD" if hard else "SOFT")


_SIMPLE = {
    # action: (allowed vm_states, new task_state, instance action, agent method)
    "stop": ([states.ACTIVE, states.ERROR], T.POWERING_OFF, "stop", ComputeAgentAPI.stop_instance),
    "start": ([states.STOPPED], T.POWERING_ON, "start", ComputeAgentAPI.start_instance),
    "pause": ([states.ACTIVE], T.PAUSING, "pause", ComputeAgentAPI.pause_instance),
    "unpause": ([states.PAUSED], T.UNPAUSING, "unpause", ComputeAgentAPI.unpause_instance),
    "suspend": ([states.ACTIVE], T.SUSPENDING, "suspend", ComputeAgentAPI.suspend_instance),
    "resume": ([states.SUSPENDED], T.RESUMING, "resume", ComputeAgentAPI.resume_instance),
    "unrescue": ([states.RESCUED], T.UNRESCUING, "unrescue", ComputeAgentAPI.unrescue_instance),
}


def simple(deps: Deps, ctx: CallContext, uuid: str, action: str) -> None:
    vm_states, task_state, record, method = _SIMPLE[action]
    inst = begin(
        deps, ctx, uuid, action, vm_states=vm_states, new_task_state=task_state, record=record
    )
    method(deps.agents, ctx, inst.host or "", inst.uuid)


def rescue(
    deps: Deps,
    ctx: CallContext,
    uuid: str,
    password: str | None,
    image_ref: str | None,
    *,
    allow_bfv_rescue: bool = False,
) -> str:
    """Boot the rescue image (``image_ref`` or the server's own). A rescue image with
    ``hw_rescue_bus`` or ``hw_rescue_device`` asks for stable device rescue: the rescue
    disk is added after the server's disks, which keep their addresses. Volume-backed
    servers are rescued that way only, from 2.87, on hosts with ``COMPUTE_RESCUE_BFV``."""
    password = password or secrets.token_urlsafe(9)[:12]
    inst = servers.get(deps, ctx, uuid)
    rescue_image = _rescue_image(deps, ctx, image_ref) if image_ref else instances.image_meta(inst)
    stable = rescue_image is not None and bool(
        {"hw_rescue_bus", "hw_rescue_device"} & set(rescue_image.properties)
    )
    if block_devices.is_volume_backed(deps.db, uuid):
        if not (allow_bfv_rescue and stable):
            raise BadRequest(
                f"Instance {uuid} cannot be rescued: Cannot rescue a volume-backed instance"
            )
        if RESCUE_BFV_TRAIT not in _host_traits(deps, inst):
            raise BadRequest(
                f"Instance {uuid} cannot be rescued: Host unable to rescue a volume-backed instance"
            )
    inst = begin(
        deps,
        ctx,
        uuid,
        "rescue",
        vm_states=[states.ACTIVE, states.STOPPED, states.ERROR],
        new_task_state=T.RESCUING,
        record="rescue",
    )
    deps.agents.rescue_instance(
        ctx, inst.host or "", inst.uuid, password, image_ref,
        rescue_image=rescue_image if image_ref else None,
    )  # fmt: skip
    return password


#: the trait of compute hosts whose driver rescues volume-backed servers
RESCUE_BFV_TRAIT = "COMPUTE_RESCUE_BFV"


def _rescue_image(deps: Deps, ctx: CallContext, image_ref: str) -> ImageMeta:
    """The rescue image's metadata; a 400 when it cannot be read, as upstream."""
    try:
        image = images.get(deps, ctx, image_ref)
    except (NotFound, Forbidden, ClientError) as exc:
        raise BadRequest(f"Requested rescue image '{image_ref}' is not supported") from exc
    return ImageMeta(
        id=image.id, name=image.name or "", min_disk=image.min_disk, min_ram=image.min_ram,
        properties=dict(image.properties),
    )  # fmt: skip


def _host_traits(deps: Deps, inst: ServerRecord) -> set[str]:
    """The traits of the server's compute node's resource provider (none if unknown)."""
    with deps.db.reader() as session:
        node = session.scalar(
            select(models.ComputeNode.uuid).where(
                models.ComputeNode.hypervisor_hostname == (inst.node or "")
            )
        )
    if node is None:
        return set()
    try:
        return deps.placement.get_traits(node)[0]
    except ClientError:
        return set()


def trigger_crash_dump(deps: Deps, ctx: CallContext, uuid: str) -> None:
    inst = servers.get(deps, ctx, uuid)
    servers.check_lock(ctx, inst)
    servers.check_state(inst, "trigger_crash_dump", states.ALLOW_TRIGGER_CRASH_DUMP, [None])
    if not inst.host:
        raise Conflict(f"Instance {uuid} is not ready")
    instance_actions.record_start(deps.db, ctx, uuid, instance_actions.TRIGGER_CRASH_DUMP)
    deps.agents.trigger_crash_dump(ctx, inst.host or "", inst.uuid)


def change_password(deps: Deps, ctx: CallContext, uuid: str, password: str) -> None:
    inst = begin(
        deps,
        ctx,
        uuid,
        "changePassword",
        vm_states=[states.ACTIVE],
        new_task_state=T.UPDATING_PASSWORD,
        record=instance_actions.CHANGE_PASSWORD,
    )
    try:
        deps.agents.set_admin_password(ctx, inst.host or "", uuid, password)
    except (RemoteError, MessagingTimeout) as exc:
        instances.save(deps.db, uuid, {"task_state": None})
        if isinstance(exc, RemoteError) and "NotSupported" in exc.exc_type:
            raise NotImplementedYet("Unable to set password on instance") from exc
        raise Conflict(f"Unable to set password on instance: {exc}") from exc


# -- lock -------------------------------------------------------------------------------------
def lock(deps: Deps, ctx: CallContext, uuid: str, reason: str | None) -> None:
    inst = servers.get(deps, ctx, uuid)
    by = "owner" if ctx.project_id == inst.project_id else "admin"

    def write(session: Session) -> None:
        instances.save_in(session, uuid, {"locked": True, "locked_by": by, "locked_reason": reason})
        instance_actions.start(session, ctx, uuid, instance_actions.LOCK)
        instance_actions.finish(session, ctx, uuid)

    deps.db.write(write)


def unlock(deps: Deps, ctx: CallContext, uuid: str) -> None:
    def write(session: Session) -> None:
        instances.save_in(
            session, uuid, {"locked": False, "locked_by": None, "locked_reason": None}
        )
        instance_actions.start(session, ctx, uuid, instance_actions.UNLOCK)
        instance_actions.finish(session, ctx, uuid)

    deps.db.write(write)


# -- admin actions ----------------------------------------------------------------------------
def reset_state(deps: Deps, ctx: CallContext, uuid: str, state: str) -> None:
    inst = servers.get(deps, ctx, uuid)
    vm_state = states.ERROR if state == "error" else states.ACTIVE

    def write(session: Session) -> None:
        instances.save_in(session, inst.uuid, {"vm_state": vm_state, "task_state": None})
        instance_actions.start(session, ctx, uuid, instance_actions.RESET_STATE)
        instance_actions.finish(session, ctx, uuid)

    deps.db.write(write)


# -- consoles ---------------------------------------------------------------------------------
def _ready(deps: Deps, ctx: CallContext, uuid: str) -> ServerRecord:
    inst = servers.get(deps, ctx, uuid)
    if not inst.host or inst.vm_state in (states.BUILDING, states.SHELVED_OFFLOADED):
        raise Conflict(f"Instance {uuid} is not ready")
    return inst


def console_output(deps: Deps, ctx: CallContext, uuid: str, length: int | None) -> str:
    inst = _ready(deps, ctx, uuid)
    try:
        output = deps.agents.get_console_output(ctx, inst.host or "", uuid, length)
    except RemoteError as exc:
        if exc.exc_type == "InstanceNotOnHost":
            raise Conflict(f"Instance {uuid} is not ready") from exc
        raise Conflict(f"Unable to get console output: {exc.message}") from exc
    return output


# -- security groups --------------------------------------------------------------------------
def change_security_group(deps: Deps, ctx: CallContext, uuid: str, name: str, *, add: bool) -> None:
    inst = servers.get(deps, ctx, uuid)
    current = list(inst.security_groups or [])
    if add and name in current:
        raise BadRequest(f"Security group {name} is already associated with the instance {uuid}")
    if not add and name not in current:
        raise BadRequest(f"Security group {name} not associated with the instance {uuid}")
    if deps.network.available():
        _update_port_groups(deps, ctx, inst, name, add)
    updated = current + [name] if add else [g for g in current if g != name]
    record = instance_actions.ADD_SECURITY_GROUP if add else instance_actions.REMOVE_SECURITY_GROUP

    def write(session: Session) -> None:
        instances.save_in(session, uuid, {"security_groups": updated})
        instance_actions.start(session, ctx, uuid, record)
        instance_actions.finish(session, ctx, uuid)

    deps.db.write(write)


def _update_port_groups(
    deps: Deps, ctx: CallContext, inst: ServerRecord, name: str, add: bool
) -> None:
    client = deps.network
    groups = client.list_security_groups(token=ctx.token, project_id=inst.project_id)
    match = [g["id"] for g in groups if name in (g.get("id"), g.get("name"))]
    if not match:
        raise NotFound(f"Security group {name} not found for project {inst.project_id}.")
    try:
        for port in client.list_ports(device_id=inst.uuid):
            ids = list(port.get("security_groups") or [])
            ids = ids + [match[0]] if add else [i for i in ids if i != match[0]]
            client.update_port(port["id"], {"security_groups": list(dict.fromkeys(ids))})
    except ClientError as exc:
        raise BadRequest(f"Network service refused the change: {exc.message}") from exc
