"""Servers after creation: access checks, update, delete, metadata and tags."""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.clients.session import ClientError
from tinystack.common.exceptions import BadRequest, Conflict, NotFound
from tinystack.common.rpc import MessagingTimeout, RemoteError
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, models, states
from tinystack.compute.objects import Diagnostics
from tinystack.compute.services import (
    _rows,
    _volumes,
    hosts,
    instance_actions,
    instances,
    migrations,
    ports,
    quotas,
)
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.records import ServerRecord

LOG = logging.getLogger(__name__)
T = states.Task
MAX_TAGS = 50


def get(deps: Deps, ctx: CallContext, uuid: str, *, read_deleted: bool = False) -> ServerRecord:
    """The instance, if the caller's project owns it (admins see every project's)."""
    try:
        inst = instances.get(deps.db, uuid, read_deleted=read_deleted)
    except exception.InstanceNotFound:
        raise exception.InstanceNotFound(uuid) from None
    if not ctx.is_admin and inst.project_id != ctx.project_id:
        raise exception.InstanceNotFound(uuid)
    return inst


def get_authorized(
    deps: Deps, ctx: RequestContext, uuid: str, rule: str, *, read_deleted: bool = False
) -> ServerRecord:
    """The instance, if the caller sees it (:func:`get`) and may ``rule`` on it (its owner
    is the policy target, so it is loaded first)."""
    inst = get(deps, CallContext.from_request(ctx), uuid, read_deleted=read_deleted)
    ctx.can(rule, target(inst))
    return inst


def target(inst: ServerRecord) -> dict[str, str]:
    return {"project_id": inst.project_id, "user_id": inst.user_id}


Settled = Callable[[str, str | None], bool]


def idle(vm_state: str, task_state: str | None) -> bool:
    return task_state is None and vm_state != states.BUILDING


def settle(deps: Deps, uuid: str, *, deleted: bool = False, until: Settled = idle) -> None:
    """Linger until the instance's work is done (or ``api_settle_seconds`` pass).

    Workers in this process wake the request as soon as they finish; otherwise the
    row is re-read every 50 ms.
    """
    limit = float(deps.opts.api_settle_seconds)
    if limit <= 0:
        return
    deadline = time.monotonic() + limit
    event = deps.watch(uuid)
    try:
        event.wait(min(0.05, limit))  # the work has only just been handed over
        while True:
            event.clear()
            with deps.db.reader() as session:
                row = session.execute(
                    select(
                        models.Instance.vm_state,
                        models.Instance.task_state,
                        models.Instance.deleted,
                    ).where(models.Instance.uuid == uuid)
                ).first()
            if row is None:
                return
            vm_state, task_state, is_deleted = row
            if (deleted and is_deleted) or (not deleted and until(vm_state, task_state)):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            event.wait(min(0.05, remaining))
    finally:
        deps.unwatch(uuid)


def with_fresh_addresses(deps: Deps, inst: ServerRecord) -> ServerRecord:
    """The instance with its ports re-read from the network service (at most every 2 s).

    Upstream relies on the network service sending ``network-changed`` events when
    floating IPs move; this also keeps addresses right when it does not.
    """
    if not inst.network_info or not deps.network.available() or inst.task_state is not None:
        return inst
    if deps.address_refresh.get(inst.uuid):
        return inst
    deps.address_refresh.put(inst.uuid, True)
    try:
        vifs = ports.refresh(deps.network, inst)
    except ClientError as exc:
        LOG.info("cannot refresh the addresses of %s: %s", inst.uuid, exc)
        return inst
    if vifs == list(inst.network_info or []):
        return inst
    try:
        return instances.save(
            deps.db, inst.uuid, {"network_info": vifs}, expected_task_state=[None]
        )
    except (exception.InstanceNotFound, exception.UnexpectedTaskState):
        return inst


def check_lock(ctx: CallContext, inst: ServerRecord) -> None:
    """Locked instances refuse changes, except from admins (as upstream's check)."""
    if inst.locked and not ctx.is_admin:
        raise exception.InstanceIsLocked(inst.uuid)


def check_state(
    inst: ServerRecord,
    action: str,
    vm_states: list[str] | None = None,
    task_states: list[str | None] | None = (None,),  # type: ignore[assignment]
) -> None:
    if vm_states is not None and inst.vm_state not in vm_states:
        raise exception.InstanceInvalidState(action, inst.uuid, "vm_state", inst.vm_state)
    if task_states is not None and inst.task_state not in task_states:
        raise exception.InstanceInvalidState(action, inst.uuid, "task_state", inst.task_state)


class Keep(enum.Enum):
    """A field of :class:`ServerChanges` left as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, slots=True)
class ServerChanges:
    """What ``PUT /servers/{id}`` changes (:data:`KEEP`: unchanged)."""

    display_name: str | Keep = KEEP
    display_description: str | None | Keep = KEEP
    access_ip_v4: str | Keep = KEEP
    access_ip_v6: str | Keep = KEEP
    auto_disk_config: bool | Keep = KEEP
    hostname: str | Keep = KEEP


def update(deps: Deps, ctx: CallContext, uuid: str, changes: ServerChanges) -> ServerRecord:
    inst = get(deps, ctx, uuid)
    values = {
        name: value
        for name in ServerChanges.__dataclass_fields__
        if (value := getattr(changes, name)) is not KEEP
    }
    # ServerChanges' fields are InstanceUpdates keys of the same types
    return instances.save(deps.db, inst.uuid, cast(instances.InstanceUpdates, values))


def clear_password(deps: Deps, ctx: CallContext, uuid: str) -> None:
    """Forget the password the guest posted (``os-server-password``)."""
    inst = get(deps, ctx, uuid)
    sysmeta = {k: v for k, v in (inst.system_metadata or {}).items() if k != "password"}
    instances.save(deps.db, inst.uuid, {"system_metadata": sysmeta})


def host_statuses(deps: Deps, rows: list[ServerRecord]) -> dict[str, str]:
    """instance uuid -> UP / DOWN / MAINTENANCE / UNKNOWN / "" (no host)."""
    wanted = {r.host for r in rows if r.host}
    services = {
        s.host: s
        for s in hosts.list_services(deps.db, binary=hosts.COMPUTE_BINARY)
        if s.host in wanted
    }
    is_up = hosts.service_up_checker(deps.opts)
    result = {}
    for inst in rows:
        if not inst.host:
            result[inst.uuid] = ""
            continue
        svc = services.get(inst.host)
        if svc is None:
            result[inst.uuid] = "UNKNOWN"
        elif svc.forced_down:
            result[inst.uuid] = "DOWN"
        elif not is_up(svc):
            result[inst.uuid] = "UNKNOWN"
        elif svc.disabled:
            result[inst.uuid] = "MAINTENANCE"
        else:
            result[inst.uuid] = "UP"
    return result


# -- delete -----------------------------------------------------------------------------------
def delete(deps: Deps, ctx: CallContext, uuid: str, *, force: bool = False) -> None:
    inst = get(deps, ctx, uuid)
    check_lock(ctx, inst)
    if not force and inst.task_state == T.DELETING:
        return
    agent_host = _live_host(deps, inst)
    action = instance_actions.DELETE

    def begin(session: Session) -> ServerRecord:
        row = instances.save_in(session, uuid, {"task_state": T.DELETING})
        instance_actions.start(session, ctx, uuid, action)
        return row

    inst = deps.db.write(begin)
    if inst.vm_state == states.RESIZED:
        _confirm_resize_on_deleting(deps, ctx, inst)
    if agent_host is None:
        local_delete(deps, ctx, inst)
        return
    deps.agents.terminate_instance(ctx, agent_host, uuid)


def _confirm_resize_on_deleting(deps: Deps, ctx: CallContext, inst: ServerRecord) -> None:
    """As upstream: a resized server being deleted has its resize confirmed, so its source
    host drops the old copy and the migration's allocations go."""
    mig = _rows.latest_migration(deps.db, inst.uuid, ("finished",))
    if mig is None or not mig.source_compute:
        return
    migrations.update(deps.db, mig.uuid, status="confirming")
    try:
        svc = hosts.find_service(deps.db, mig.source_compute, hosts.COMPUTE_BINARY)
    except exception.ComputeHostNotFound:
        svc = None
    if svc is not None and hosts.service_up_checker(deps.opts)(svc):
        deps.agents.confirm_resize(ctx, mig.source_compute, inst.uuid, mig.uuid)
        return
    try:
        deps.placement.delete_allocations(mig.uuid)
    except ClientError as exc:
        LOG.warning("cannot remove the allocations of migration %s: %s", mig.uuid, exc)


def _live_host(deps: Deps, inst: ServerRecord) -> str | None:
    """The host whose agent should delete the instance, or None to delete it here."""
    if not inst.host or inst.vm_state == states.SHELVED_OFFLOADED:
        return None
    try:
        svc = hosts.find_service(deps.db, inst.host, hosts.COMPUTE_BINARY)
    except exception.ComputeHostNotFound:
        return None
    if not hosts.service_up_checker(deps.opts)(svc):
        return None
    return inst.host


def local_delete(deps: Deps, ctx: CallContext, inst: ServerRecord) -> None:
    """Delete without the agent: the instance never reached a host, or its host is down."""
    try:
        deps.placement.delete_allocations(inst.uuid)
    except ClientError as exc:
        LOG.warning("cannot remove the allocations of %s: %s", inst.uuid, exc)
    ports.deallocate_for(deps.network, ctx, inst)
    _volumes.release_all(deps.db, deps.volume, ctx, inst.uuid)
    image_id = (inst.system_metadata or {}).get("shelved_image_id")
    if image_id:
        try:
            deps.image.delete(image_id)
        except ClientError:
            pass
    now = utcnow()

    def write(session: Session) -> None:
        instances.save_in(
            session,
            inst.uuid,
            {
                "vm_state": states.DELETED,
                "task_state": None,
                "power_state": states.NOSTATE,
                "terminated_at": now,
                "deleted_at": now,
                "deleted": True,
            },
        )
        instance_actions.finish(session, ctx, inst.uuid)

    deps.db.write(write)
    deps.changed(inst.uuid)


# -- metadata ---------------------------------------------------------------------------------
def _mutate(deps: Deps, ctx: CallContext, uuid: str, fn: Callable[[models.Instance], Any]) -> Any:
    inst = get(deps, ctx, uuid)
    check_lock(ctx, inst)
    if inst.task_state in (T.DELETING,):
        raise exception.InstanceInvalidState("update metadata", uuid, "task_state", inst.task_state)

    def write(session: Session) -> Any:
        row = _rows.instance(session, uuid)
        result = fn(row)
        row.updated_at = utcnow()
        return result

    return deps.db.write(write)


def set_metadata(
    deps: Deps, ctx: CallContext, uuid: str, items: dict[str, str], *, replace: bool
) -> dict[str, str]:
    def fn(row: models.Instance) -> dict[str, str]:
        merged = dict(items) if replace else {**(row.user_metadata or {}), **items}
        quotas.check_metadata(deps.opts, None, merged)
        row.user_metadata = merged
        return merged

    result: dict[str, str] = _mutate(deps, ctx, uuid, fn)
    return result


def delete_metadata(deps: Deps, ctx: CallContext, uuid: str, key: str) -> None:
    def fn(row: models.Instance) -> None:
        current = dict(row.user_metadata or {})
        if key not in current:
            raise NotFound("Metadata item was not found")
        del current[key]
        row.user_metadata = current

    _mutate(deps, ctx, uuid, fn)


# -- tags -------------------------------------------------------------------------------------
def tags(deps: Deps, uuid: str) -> list[str]:
    with deps.db.reader() as session:
        return sorted(
            session.scalars(
                select(models.InstanceTag.tag).where(models.InstanceTag.instance_uuid == uuid)
            )
        )


def _check_tag_state(inst: ServerRecord) -> None:
    allowed = (
        states.ACTIVE,
        states.PAUSED,
        states.SUSPENDED,
        states.STOPPED,
        states.SHELVED,
        states.SHELVED_OFFLOADED,
        states.RESCUED,
        states.ERROR,
        states.RESIZED,
        states.BUILDING,
        states.SOFT_DELETED,
    )
    if inst.vm_state not in allowed:
        raise exception.InstanceInvalidState("update tags", inst.uuid, "vm_state", inst.vm_state)


def set_tags(deps: Deps, ctx: CallContext, uuid: str, new: list[str]) -> list[str]:
    inst = get(deps, ctx, uuid)
    _check_tag_state(inst)
    unique = list(dict.fromkeys(new))
    if len(unique) > MAX_TAGS:
        raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")

    def write(session: Session) -> None:
        session.execute(
            sql_delete(models.InstanceTag).where(models.InstanceTag.instance_uuid == uuid)
        )
        for tag in unique:
            session.add(models.InstanceTag(instance_uuid=uuid, tag=tag))
        instances.save_in(session, uuid, {})

    deps.db.write(write)
    return sorted(unique)


def add_tag(deps: Deps, ctx: CallContext, uuid: str, tag: str) -> bool:
    """Add one tag; False if it was already there."""
    inst = get(deps, ctx, uuid)
    _check_tag_state(inst)

    def write(session: Session) -> bool:
        existing = set(
            session.scalars(
                select(models.InstanceTag.tag).where(models.InstanceTag.instance_uuid == uuid)
            )
        )
        if tag in existing:
            return False
        if len(existing) >= MAX_TAGS:
            raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
        session.add(models.InstanceTag(instance_uuid=uuid, tag=tag))
        instances.save_in(session, uuid, {})
        return True

    return bool(deps.db.write(write))


def delete_tag(deps: Deps, ctx: CallContext, uuid: str, tag: str | None) -> None:
    inst = get(deps, ctx, uuid)
    _check_tag_state(inst)

    def write(session: Session) -> None:
        stmt = sql_delete(models.InstanceTag).where(models.InstanceTag.instance_uuid == uuid)
        if tag is not None:
            found = session.get(models.InstanceTag, (uuid, tag))
            if found is None:
                raise NotFound(f"Tag {tag} could not be found.")
            stmt = stmt.where(models.InstanceTag.tag == tag)
        session.execute(stmt)
        instances.save_in(session, uuid, {})

    deps.db.write(write)


@dataclass(frozen=True, slots=True)
class SecurityGroupRef:
    """A security group an instance was given, as the network service knows it."""

    id: str
    name: str | None
    description: str
    tenant_id: str | None


def security_groups(deps: Deps, inst: ServerRecord) -> list[SecurityGroupRef]:
    """The instance's security groups (by name or id) among its project's; by name alone
    when there is no network service."""
    wanted = inst.security_groups or []
    if not deps.network.available():
        return [SecurityGroupRef(name, name, "", inst.project_id) for name in wanted]
    try:
        known = deps.network.list_security_groups(project_id=inst.project_id)
    except ClientError:
        known = []
    return [
        SecurityGroupRef(
            group["id"],
            group.get("name"),
            group.get("description", ""),
            group.get("project_id") or group.get("tenant_id"),
        )
        for group in known
        if group.get("name") in wanted or group.get("id") in wanted
    ]


def diagnostics(deps: Deps, ctx: CallContext, inst: ServerRecord) -> Diagnostics:
    """What the instance's driver reports about it (409 when its agent cannot say)."""
    if not inst.host:
        raise Conflict(f"Instance {inst.uuid} is not ready")
    try:
        return deps.agents.get_diagnostics(ctx, inst.host, inst.uuid)
    except (RemoteError, MessagingTimeout) as exc:
        raise Conflict(f"Instance {inst.uuid} is not ready") from exc
