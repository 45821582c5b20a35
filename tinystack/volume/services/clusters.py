"""Clusters (3.7): the services grouped by their ``cluster_name``. Services of this
deployment join no cluster (one manager per backend, active/passive), so the lists are
empty and a cluster is never found; the grouping is still computed from the services
table, as upstream's summaries are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.services import os_services

__all__ = ["ClusterRecord", "get", "list_clusters", "set_disabled"]


@dataclass(frozen=True, slots=True)
class ClusterRecord:
    name: str
    binary: str
    disabled: bool
    disabled_reason: str | None
    num_hosts: int
    num_down_hosts: int
    last_heartbeat: datetime | None
    created_at: datetime
    updated_at: datetime | None
    frozen: bool
    replication_status: str
    active_backend_id: str | None


def _group(rows: list[models.Service], down_time: int) -> list[ClusterRecord]:
    groups: dict[tuple[str, str], list[models.Service]] = {}
    for row in rows:
        if row.cluster_name:
            groups.setdefault((row.cluster_name, row.binary), []).append(row)
    now = utcnow()
    found = []
    for (name, binary), members in sorted(groups.items()):
        beats = [m.heartbeat_at for m in members if m.heartbeat_at is not None]
        found.append(
            ClusterRecord(
                name=name,
                binary=binary,
                disabled=all(m.disabled for m in members),
                disabled_reason=members[0].disabled_reason,
                num_hosts=len(members),
                num_down_hosts=sum(
                    not os_services.is_up(m.heartbeat_at, down_time, now) for m in members
                ),
                last_heartbeat=max(beats) if beats else None,
                created_at=min(m.created_at for m in members),
                updated_at=max((m.updated_at for m in members if m.updated_at), default=None),
                frozen=any(m.frozen for m in members),
                replication_status=members[0].replication_status,
                active_backend_id=members[0].active_backend_id,
            )
        )
    return found


def _rows(session: Session, name: str | None, binary: str | None) -> list[models.Service]:
    query = select(models.Service).where(models.Service.cluster_name.is_not(None))
    if name is not None:
        query = query.where(models.Service.cluster_name == name)
    if binary is not None:
        query = query.where(models.Service.binary == binary)
    return list(session.scalars(query))


def list_clusters(
    db: Database, down_time: int, name: str | None = None, binary: str | None = None
) -> list[ClusterRecord]:
    with db.reader() as session:
        return _group(_rows(session, name, binary), down_time)


def get(db: Database, down_time: int, name: str, binary: str) -> ClusterRecord:
    found = list_clusters(db, down_time, name, binary)
    if not found:
        raise exception.NotFound(f"Cluster {name} could not be found.")
    return found[0]


def set_disabled(
    db: Database, down_time: int, name: str, binary: str, disabled: bool, reason: str | None
) -> ClusterRecord:
    """Disable (or enable) every service of the cluster: the scheduler skips them."""

    def tx(session: Session) -> None:
        rows = _rows(session, name, binary)
        if not rows:
            raise exception.NotFound(f"Cluster {name} could not be found.")
        for row in rows:
            row.disabled = disabled
            row.disabled_reason = reason if disabled else None
            row.updated_at = utcnow()

    db.write(tx)
    return get(db, down_time, name, binary)
