"""What the scheduler decides on, and its decisions, each in one transaction.

:func:`pool_states` builds the pools of the backends that are up (a heartbeat newer than
``service_down_time``), enabled and not frozen, from what their managers last reported
(``services.capabilities``) and what the database says is placed on each pool. A
decision (:func:`place`, :func:`check_extend`) runs in one write transaction that first
locks the volume services' rows, so two schedulers (or two threads of one) decide one
after the other on fresh numbers: the last free gigabytes go to one volume only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import models
from tinystack.volume.conf import Options
from tinystack.volume.services import _rows, messages, os_services, volume_ops, workers


@dataclass(frozen=True)
class PoolState:
    #: ``host@backend#pool``
    name: str
    #: ``host@backend``
    backend: str
    availability_zone: str
    total_capacity_gb: float
    free_capacity_gb: float
    #: what the pool's manager reported as allocated
    reported_allocated_gb: float
    #: what the database says is placed on the pool now
    provisioned_gb: float
    reserved_percentage: int
    max_over_subscription_ratio: float
    thin: bool
    thick: bool
    #: backend-level capabilities overlaid with the pool's (the capabilities filter)
    capabilities: dict[str, Any] = field(default_factory=dict)

    @property
    def free_gb(self) -> float:
        """Real free space, less the reserve and what was placed since the last report."""
        pending = max(0.0, self.provisioned_gb - self.reported_allocated_gb)
        reserved = math.floor(self.total_capacity_gb * self.reserved_percentage / 100)
        free = self.free_capacity_gb - reserved
        return free if self.thin else free - pending

    @property
    def virtual_free_gb(self) -> float:
        """Free capacity as thin provisioning sees it (the capacity weigher's measure)."""
        if not self.thin:
            return self.free_gb
        reserved = math.floor(self.total_capacity_gb * self.reserved_percentage / 100)
        return (
            self.total_capacity_gb * self.max_over_subscription_ratio
            - self.provisioned_gb
            - reserved
        )


Pick = Callable[[list[PoolState]], PoolState | None]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a volume went: ``host@backend#pool``, or None (the volume is in error)."""

    volume_id: str
    host: str | None
    #: the volume was no longer waiting to be scheduled (deleted, or placed already)
    skipped: bool = False


def _provisioned(session: Session) -> dict[str, float]:
    rows = session.execute(
        select(models.Volume.host, func.sum(models.Volume.size))
        .where(models.Volume.host.is_not(None))
        .group_by(models.Volume.host)
    )
    return {str(host): float(total or 0) for host, total in rows}


def _pools_of(row: models.Service, provisioned: dict[str, float]) -> list[PoolState]:
    caps: dict[str, Any] = dict(row.capabilities or {})
    backend_caps = {k: v for k, v in caps.items() if k != "pools"}
    found = []
    for pool in caps.get("pools") or []:
        if not isinstance(pool, dict):
            continue
        name = f"{row.host}#{pool.get('pool_name')}"
        found.append(
            PoolState(
                name=name,
                backend=row.host,
                availability_zone=row.availability_zone,
                total_capacity_gb=float(pool.get("total_capacity_gb") or 0),
                free_capacity_gb=float(pool.get("free_capacity_gb") or 0),
                reported_allocated_gb=float(pool.get("allocated_capacity_gb") or 0),
                provisioned_gb=provisioned.get(name, 0.0),
                reserved_percentage=int(pool.get("reserved_percentage") or 0),
                max_over_subscription_ratio=float(pool.get("max_over_subscription_ratio") or 1),
                thin=bool(pool.get("thin_provisioning_support")),
                thick=bool(pool.get("thick_provisioning_support")),
                capabilities={**backend_caps, **pool},
            )
        )
    return found


def pool_states(session: Session, opts: Options, *, lock: bool = False) -> list[PoolState]:
    """The pools that may take new volumes (``lock``: the services rows, FOR UPDATE)."""
    query = select(models.Service).where(models.Service.binary == os_services.VOLUME_BINARY)
    if lock:
        query = query.with_for_update()
    now = utcnow()
    provisioned = _provisioned(session)
    pools: list[PoolState] = []
    for row in session.scalars(query.order_by(models.Service.id)):
        if row.disabled or row.frozen:
            continue
        if not os_services.is_up(row.heartbeat_at, int(opts.service_down_time), now):
            continue
        pools += _pools_of(row, provisioned)
    return pools


def all_pools(db: Database) -> list[PoolState]:
    """Every reported pool, up or not (``scheduler-stats/get_pools``)."""
    with db.reader() as session:
        provisioned = _provisioned(session)
        pools: list[PoolState] = []
        for row in _rows.volume_service_rows(session):
            pools += _pools_of(row, provisioned)
        return pools


def place(
    db: Database, opts: Options, volume_id: str, pick: Pick, request_id: str | None
) -> Placement:
    """Choose the volume's pool and record it (or put the volume in error, with a user
    message "No valid backend", when no pool passes)."""

    def tx(session: Session) -> Placement:
        pools = pool_states(session, opts, lock=True)
        row = session.get(models.Volume, volume_id)
        if row is None or row.status != "creating" or row.host:
            if row is None or row.status != "creating":  # nothing left to schedule
                workers.finish_if(session, "Volume", volume_id, "schedule")
            return Placement(volume_id, row.host if row else None, skipped=True)
        chosen = pick(pools)
        if chosen is None:
            volume_ops.fail(
                session,
                row,
                status="error",
                action=messages.SCHEDULE_ALLOCATE_VOLUME,
                detail=messages.NO_BACKEND_AVAILABLE,
                request_id=request_id,
                ttl=int(opts.message_ttl),
            )
            return Placement(volume_id, None)
        row.host = chosen.name
        row.updated_at = utcnow()
        workers.begin(session, "Volume", volume_id, "creating", "create", chosen.name)
        return Placement(volume_id, chosen.name)

    return db.write(tx)


def extend_fits(
    db: Database,
    opts: Options,
    volume_id: str,
    new_size: int,
    fits: Callable[[PoolState, int], bool],
) -> bool:
    """Whether the volume's pool has room to grow it to ``new_size`` (locked, as
    :func:`place`)."""

    def tx(session: Session) -> bool:
        pools = {pool.name: pool for pool in pool_states(session, opts, lock=True)}
        row = session.get(models.Volume, volume_id)
        if row is None or not row.host:
            return False
        pool = pools.get(row.host)
        return pool is not None and fits(pool, new_size - row.size)

    return db.write(tx)


def place_group(db: Database, opts: Options, group_id: str, pick: Pick) -> str | None:
    """Choose the backend of a generic group (its volumes go there): ``available``, or
    ``error`` when no pool can host all its volume types."""

    def tx(session: Session) -> str | None:
        pools = pool_states(session, opts, lock=True)
        row = session.get(models.Group, group_id)
        if row is None or row.status != "creating":
            return None
        chosen = pick(pools) if not row.host else None
        if row.host:
            row.status = "available"
        elif chosen is None:
            row.status = "error"
        else:
            row.host = chosen.name
            row.status = "available"
        row.updated_at = utcnow()
        workers.finish(session, "Group", group_id)
        return row.host

    return db.write(tx)
