"""Server groups (instance groups): policies, members, quotas, the scheduler's view."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.db import Database
from tinystack.common.exceptions import BadRequest
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, models
from tinystack.compute.conf import Options
from tinystack.compute.objects import ServerGroupMeta
from tinystack.compute.services import quotas

POLICIES = ("affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")
DELETE_RULE = "os_compute_api:os-server-groups:delete"


@dataclass(frozen=True, slots=True)
class ServerGroupRecord:
    uuid: str
    name: str
    user_id: str
    project_id: str
    policy: str
    rules: dict[str, Any]
    #: uuids of the group's (not deleted) instances
    members: tuple[str, ...]


def _record(group: models.InstanceGroup, members: list[str]) -> ServerGroupRecord:
    return ServerGroupRecord(
        uuid=group.uuid,
        name=group.name,
        user_id=group.user_id,
        project_id=group.project_id,
        policy=group.policy,
        rules=dict(group.rules or {}),
        members=tuple(members),
    )


def create(
    db: Database,
    opts: Options,
    ctx: CallContext,
    name: str,
    policy: str,
    rules: dict[str, int],
) -> ServerGroupRecord:
    def write(session: Session) -> ServerGroupRecord:
        quotas.check_simple(session, opts, ctx.project_id or "", ctx.user_id or "", "server_groups")
        group = models.InstanceGroup(
            uuid=str(uuidlib.uuid4()),
            name=name,
            user_id=ctx.user_id or "",
            project_id=ctx.project_id or "",
            policy=policy,
            rules=dict(rules),
            created_at=utcnow(),
        )
        session.add(group)
        session.flush()
        return _record(group, [])

    return db.write(write)


def _load(session: Session, group_id: str) -> models.InstanceGroup:
    found = session.scalars(
        select(models.InstanceGroup).where(models.InstanceGroup.uuid == group_id)
    ).first()
    if found is None:
        raise exception.ServerGroupNotFound(group_id)
    return found


def _members(session: Session, group_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return found
    rows = session.execute(
        select(models.InstanceGroupMember.group_id, models.InstanceGroupMember.instance_uuid)
        .join(
            models.Instance,
            models.Instance.uuid == models.InstanceGroupMember.instance_uuid,
        )
        .where(
            models.InstanceGroupMember.group_id.in_(group_ids),
            models.Instance.deleted.is_(False),
        )
    )
    for gid, uuid in rows:
        found[gid].append(uuid)
    return found


def get(db: Database, group_id: str) -> ServerGroupRecord:
    with db.reader() as session:
        group = _load(session, group_id)
        return _record(group, _members(session, [group.id])[group.id])


def list_groups(
    db: Database,
    project_id: str | None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[ServerGroupRecord]:
    """Groups of ``project_id`` (every project's when None)."""
    with db.reader() as session:
        query = select(models.InstanceGroup).order_by(models.InstanceGroup.id)
        if project_id is not None:
            query = query.where(models.InstanceGroup.project_id == project_id)
        groups = list(session.scalars(query))[offset:]
        if limit is not None:
            groups = groups[:limit]
        members = _members(session, [g.id for g in groups])
    return [_record(g, members[g.id]) for g in groups]


def delete_group(db: Database, ctx: RequestContext, group_id: str) -> None:
    """Delete the group if ``ctx`` may (``os-server-groups:delete`` on its owner)."""

    def write(session: Session) -> None:
        group = _load(session, group_id)
        ctx.can(DELETE_RULE, {"project_id": group.project_id, "user_id": group.user_id})
        session.execute(
            delete(models.InstanceGroupMember).where(
                models.InstanceGroupMember.group_id == group.id
            )
        )
        session.delete(group)

    db.write(write)


def for_hint(db: Database, ctx: CallContext, group_id: Any) -> ServerGroupMeta | None:
    """The ``group`` scheduler hint's group, as the request spec carries it."""
    if group_id is None:
        return None
    if isinstance(group_id, list):
        group_id = group_id[0] if group_id else None
    try:
        with db.reader() as session:
            group = _load(session, str(group_id))
    except exception.ServerGroupNotFound:
        raise BadRequest(f"Invalid server group {group_id}") from None
    if not ctx.is_admin and group.project_id != ctx.project_id:
        raise BadRequest(f"Invalid server group {group_id}")
    return ServerGroupMeta(group.uuid, group.policy, dict(group.rules or {}))


def check_members_quota(
    session: Session, opts: Options, group_uuid: str, adding: int, ctx: CallContext
) -> None:
    limits = quotas.limits_in(session, opts, ctx.project_id or "", ctx.user_id)
    allowed = limits["server_group_members"]
    if allowed < 0:
        return
    group = _load(session, group_uuid)
    used = session.scalar(
        select(func.count())
        .select_from(models.InstanceGroupMember)
        .join(models.Instance, models.Instance.uuid == models.InstanceGroupMember.instance_uuid)
        .where(models.InstanceGroupMember.group_id == group.id, models.Instance.deleted.is_(False))
    )
    if int(used or 0) + adding > allowed:
        raise exception.QuotaExceeded("Quota exceeded, too many servers in group")


def add_members(session: Session, group_uuid: str, instance_uuids: list[str]) -> None:
    group = _load(session, group_uuid)
    for uuid in instance_uuids:
        session.add(models.InstanceGroupMember(group_id=group.id, instance_uuid=uuid))


def groups_of(db: Database, instance_uuids: list[str]) -> dict[str, str]:
    """instance uuid -> its group's uuid."""
    found: dict[str, str] = {}
    if not instance_uuids:
        return found
    with db.reader() as session:
        for start in range(0, len(instance_uuids), 500):
            chunk = instance_uuids[start : start + 500]
            rows = session.execute(
                select(models.InstanceGroupMember.instance_uuid, models.InstanceGroup.uuid)
                .join(
                    models.InstanceGroup,
                    models.InstanceGroup.id == models.InstanceGroupMember.group_id,
                )
                .where(models.InstanceGroupMember.instance_uuid.in_(chunk))
            )
            found.update({str(i): str(g) for i, g in rows.all()})
    return found


def member_hosts(db: Database, group_uuid: str, exclude: list[str] | None = None) -> list[str]:
    """Hosts of the group's live members (one entry per member: counts matter)."""
    with db.reader() as session:
        group = _load(session, group_uuid)
        query = (
            select(models.Instance.host)
            .join(
                models.InstanceGroupMember,
                models.InstanceGroupMember.instance_uuid == models.Instance.uuid,
            )
            .where(
                models.InstanceGroupMember.group_id == group.id,
                models.Instance.deleted.is_(False),
                models.Instance.host.is_not(None),
            )
        )
        if exclude:
            query = query.where(models.Instance.uuid.not_in(exclude))
        return [h for h in session.scalars(query) if h]
