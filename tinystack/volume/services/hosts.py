"""``os-hosts``: the volume hosts, and per host what each project keeps there."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from tinystack.common.db import Database
from tinystack.volume import exception, models
from tinystack.volume.services import _rows


@dataclass(frozen=True, slots=True)
class HostUsage:
    project: str
    volume_count: int
    total_volume_gb: int
    snapshot_count: int
    total_snapshot_gb: int


def usage(db: Database, host: str) -> list[HostUsage]:
    """``(total)`` first, then one entry per project with volumes on ``host``."""
    with db.reader() as session:
        services = [
            row
            for row in _rows.volume_service_rows(session)
            if row.host == host or row.host.partition("@")[0] == host
        ]
        if not services:
            raise exception.HostNotFound(host=host)
        on_host = (
            (models.Volume.host == host)
            | models.Volume.host.startswith(host + "@")
            | (models.Volume.host.startswith(host + "#"))
        )
        volumes = {
            project: (int(count), int(size or 0))
            for project, count, size in session.execute(
                select(models.Volume.project_id, func.count(), func.sum(models.Volume.size))
                .where(on_host)
                .group_by(models.Volume.project_id)
            )
        }
        volume_ids = select(models.Volume.id).where(on_host)
        snapshots = {
            project: (int(count), int(size or 0))
            for project, count, size in session.execute(
                select(
                    models.Snapshot.project_id, func.count(), func.sum(models.Snapshot.volume_size)
                )
                .where(models.Snapshot.volume_id.in_(volume_ids))
                .group_by(models.Snapshot.project_id)
            )
        }
    projects = sorted(set(volumes) | set(snapshots))
    rows = [HostUsage(p, *volumes.get(p, (0, 0)), *snapshots.get(p, (0, 0))) for p in projects]
    total = HostUsage(
        "(total)",
        sum(r.volume_count for r in rows),
        sum(r.total_volume_gb for r in rows),
        sum(r.snapshot_count for r in rows),
        sum(r.total_snapshot_gb for r in rows),
    )
    return [total, *rows]
