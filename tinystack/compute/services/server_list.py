"""Listing servers: filters, sort keys, marker/limit pagination.

Exact filters run in SQL; regular-expression filters (``name``, ``ip``...) run in
Python over the SQL result, as upstream does for ``ip``; pagination then applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select, true
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.exceptions import BadRequest
from tinystack.compute import models
from tinystack.compute.services.records import ServerRecord, server_record

#: API sort key -> column
SORT_COLUMNS = {
    "access_ip_v4": "access_ip_v4",
    "access_ip_v6": "access_ip_v6",
    "auto_disk_config": "auto_disk_config",
    "availability_zone": "availability_zone",
    "config_drive": "config_drive",
    "created_at": "created_at",
    "display_description": "display_description",
    "display_name": "display_name",
    "host": "host",
    "hostname": "hostname",
    "image_ref": "image_ref",
    "instance_type_id": "flavorid",
    "kernel_id": "kernel_id",
    "key_name": "key_name",
    "launch_index": "launch_index",
    "launched_at": "launched_at",
    "locked": "locked",
    "locked_by": "locked_by",
    "node": "node",
    "power_state": "power_state",
    "progress": "progress",
    "project_id": "project_id",
    "ramdisk_id": "ramdisk_id",
    "root_device_name": "root_device_name",
    "task_state": "task_state",
    "terminated_at": "terminated_at",
    "updated_at": "updated_at",
    "user_id": "user_id",
    "uuid": "uuid",
    "vm_state": "vm_state",
}
#: exact-match filters -> column
EXACT = {
    "project_id": "project_id",
    "user_id": "user_id",
    "image": "image_ref",
    "image_ref": "image_ref",
    "flavor": "flavorid",
    "host": "host",
    "uuid": "uuid",
    "availability_zone": "availability_zone",
    "launch_index": "launch_index",
    "power_state": "power_state",
    "config_drive": "config_drive",
    "progress": "progress",
}
#: regular-expression filters -> attribute
REGEX = {
    "name": "display_name",
    "display_name": "display_name",
    "description": "display_description",
    "display_description": "display_description",
    "hostname": "hostname",
    "key_name": "key_name",
    "node": "node",
    "reservation_id": "reservation_id",
    "kernel_id": "kernel_id",
    "ramdisk_id": "ramdisk_id",
    "root_device_name": "root_device_name",
    "access_ip_v4": "access_ip_v4",
    "access_ip_v6": "access_ip_v6",
    "locked_by": "locked_by",
    "auto_disk_config": "auto_disk_config",
    "created_at": "created_at",
    "launched_at": "launched_at",
    "terminated_at": "terminated_at",
}


@dataclass
class ListQuery:
    exact: dict[str, Any] = field(default_factory=dict)
    regex: dict[str, str] = field(default_factory=dict)
    vm_states: set[str] | None = None
    task_states: set[str | None] | None = None
    deleted: bool | None = False
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    locked: bool | None = None
    tags: list[str] = field(default_factory=list)
    tags_any: list[str] = field(default_factory=list)
    not_tags: list[str] = field(default_factory=list)
    not_tags_any: list[str] = field(default_factory=list)
    ip: str | None = None
    ip6: str | None = None
    sort: list[tuple[str, str]] = field(default_factory=list)
    limit: int | None = None
    marker: str | None = None


def _compile(pattern: str, name: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error:
        raise BadRequest(f"Invalid regular expression for {name}: {pattern}") from None


def _base(q: ListQuery) -> Select[models.Instance]:
    inst = models.Instance
    query = select(inst)
    if q.deleted is not None:
        query = query.where(inst.deleted.is_(q.deleted))
    for key, value in q.exact.items():
        column = getattr(inst, EXACT[key])
        values = value if isinstance(value, list) else [value]
        query = query.where(column.in_(values))
    if q.vm_states is not None:
        query = query.where(inst.vm_state.in_(q.vm_states))
    if q.task_states is not None:
        named = [t for t in q.task_states if t is not None]
        clause: Any = inst.task_state.in_(named) if named else None
        if None in q.task_states:
            clause = (
                inst.task_state.is_(None)
                if clause is None
                else or_(clause, inst.task_state.is_(None))
            )
        if clause is not None:
            query = query.where(clause)
    if q.changes_since is not None:
        query = query.where(inst.updated_at >= q.changes_since)
    if q.changes_before is not None:
        query = query.where(inst.updated_at <= q.changes_before)
    if q.locked is not None:
        query = query.where(inst.locked.is_(q.locked))
    return _tag_filters(query, q)


def _tag_filters(query: Select[models.Instance], q: ListQuery) -> Select[models.Instance]:
    inst, tag = models.Instance, models.InstanceTag
    for name in q.tags:
        query = query.where(inst.uuid.in_(select(tag.instance_uuid).where(tag.tag == name)))
    if q.tags_any:
        query = query.where(inst.uuid.in_(select(tag.instance_uuid).where(tag.tag.in_(q.tags_any))))
    if q.not_tags:
        having_all = and_(
            *(inst.uuid.in_(select(tag.instance_uuid).where(tag.tag == n)) for n in q.not_tags)
        )
        query = query.where(~having_all)
    if q.not_tags_any:
        query = query.where(
            inst.uuid.not_in(select(tag.instance_uuid).where(tag.tag.in_(q.not_tags_any)))
        )
    return query


def _order(q: ListQuery) -> list[tuple[Any, str]]:
    inst = models.Instance
    keys = q.sort or [("created_at", "desc")]
    order = [(getattr(inst, SORT_COLUMNS[k]), d) for k, d in keys]
    if not any(k in ("uuid",) for k, _ in keys):
        order.append((inst.id, keys[-1][1] if not q.sort else "desc"))
    return order


def _keyset(order: list[tuple[Any, str]], marker: models.Instance) -> Any:
    """Rows after ``marker`` in ``order`` (NULLs sort first, as in SQLite and MySQL)."""
    clauses = []
    for i, (column, direction) in enumerate(order):
        value = getattr(marker, column.key)
        equal = [
            (c.is_(None) if getattr(marker, c.key) is None else c == getattr(marker, c.key))
            for c, _ in order[:i]
        ]
        if value is None:
            after = column.is_not(None) if direction == "asc" else None
        elif direction == "asc":
            after = column > value
        else:
            after = or_(column < value, column.is_(None))
        if after is not None:
            clauses.append(and_(*equal, after) if equal else after)
    return or_(*clauses) if clauses else true()


def _regex_match(inst: models.Instance, q: ListQuery, compiled: dict[str, re.Pattern[str]]) -> bool:
    for key, pattern in compiled.items():
        if key in ("ip", "ip6"):
            continue
        value = getattr(inst, REGEX[key])
        if value is None:
            return False
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        if not pattern.search(text):
            return False
    for key in ("ip", "ip6"):
        ip_pattern = compiled.get(key)
        if ip_pattern is None:
            continue
        version = 6 if key == "ip6" else 4
        addrs = [
            ip["ip_address"]
            for vif in inst.network_info or []
            for ip in vif.get("fixed_ips", [])
            if ip.get("version", 4) == version
        ] + [a for vif in inst.network_info or [] for a in vif.get("floating_ips", [])]
        if not any(ip_pattern.search(a) for a in addrs):
            return False
    return True


def list_instances(db: Database, q: ListQuery) -> list[ServerRecord]:
    compiled = {k: _compile(v, k) for k, v in q.regex.items()}
    if q.ip:
        compiled["ip"] = _compile(q.ip, "ip")
    if q.ip6:
        compiled["ip6"] = _compile(q.ip6, "ip6")
    order = _order(q)
    with db.reader() as session:
        query = _base(q)
        marker = _marker(session, q.marker) if q.marker else None
        query = query.order_by(*(c.asc() if d == "asc" else c.desc() for c, d in order))
        if not compiled:
            if marker is not None:
                query = query.where(_keyset(order, marker))
            if q.limit is not None:
                query = query.limit(q.limit)
            return [server_record(r) for r in session.scalars(query)]
        rows = [server_record(r) for r in session.scalars(query) if _regex_match(r, q, compiled)]
    if marker is not None:
        ids = [r.uuid for r in rows]
        rows = rows[ids.index(marker.uuid) + 1 :] if marker.uuid in ids else []
    return rows[: q.limit] if q.limit is not None else rows


def _marker(session: Session, uuid: str) -> models.Instance:
    found = session.scalars(select(models.Instance).where(models.Instance.uuid == uuid)).first()
    if found is None:
        raise BadRequest(f"marker [{uuid}] not found")
    return found


def tags_for(db: Database, uuids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if not uuids:
        return found
    with db.reader() as session:
        for start in range(0, len(uuids), 900):
            chunk = uuids[start : start + 900]
            rows = session.execute(
                select(models.InstanceTag.instance_uuid, models.InstanceTag.tag).where(
                    models.InstanceTag.instance_uuid.in_(chunk)
                )
            )
            for uuid, tag in rows:
                found.setdefault(uuid, []).append(tag)
    for tags in found.values():
        tags.sort()
    return found
