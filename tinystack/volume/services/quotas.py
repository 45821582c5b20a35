"""Quotas: limits (project > quota class ``default`` > ``[volume] quota_*``), usage rows
and reservations, enforced under concurrency.

Usage lives in ``quota_usages`` (``in_use`` + ``reserved`` per project and resource),
changed only inside the write transaction of the change it accounts for, with the rows
locked (``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` serializes writers), so concurrent
creates cannot both squeeze under a limit. A create or delete changes ``in_use`` at once
(:func:`consume` / :func:`release`, in the caller's transaction); an operation whose
outcome a worker decides later (extend, retype) holds a :func:`reserve` reservation that
the worker commits or rolls back (:func:`commit` / :func:`rollback`); a reservation left
behind by a crash expires (``[volume] reservation_expire``).

Resources: ``volumes``, ``gigabytes``, ``snapshots``, ``backups``, ``backup_gigabytes``,
``groups``, ``per_volume_gigabytes`` (a per-volume size limit, never used) and per volume
type ``volumes_<type>``, ``gigabytes_<type>``, ``snapshots_<type>`` (default -1).

With ``[volume] quota_driver = unified_limits`` the limits are identity's instead
(registered limits of the ``block-storage`` service overlaid by the project's limits,
the same resource names; a resource without a registered limit is unlimited), read
through ``common/clients/limits.py`` as compute and image read theirs; usage and
reservations stay here, so enforcement under concurrency is unchanged. Quota-set and
quota-class-set updates then change nothing (Nova's update APIs do the same under its
unified-limits driver); limits are changed in identity.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.conf import Options

#: resource -> the [volume] option holding its default
BASE_RESOURCES: dict[str, str] = {
    "volumes": "quota_volumes",
    "snapshots": "quota_snapshots",
    "gigabytes": "quota_gigabytes",
    "backups": "quota_backups",
    "backup_gigabytes": "quota_backup_gigabytes",
    "per_volume_gigabytes": "per_volume_size_limit",
    "groups": "quota_groups",
}
TYPE_PREFIXES = ("volumes_", "snapshots_", "gigabytes_")
#: limits, not usages: never reserved or consumed
NOT_COUNTED = {"per_volume_gigabytes"}
DEFAULT_CLASS = "default"


@dataclass(frozen=True, slots=True)
class Usage:
    limit: int
    in_use: int
    reserved: int
    allocated: int = 0


def type_names(session: Session) -> list[str]:
    return list(session.scalars(select(models.VolumeType.name).order_by(models.VolumeType.name)))


def resources(session: Session) -> list[str]:
    """Every resource: the base ones, then three per volume type."""
    names = list(BASE_RESOURCES)
    for type_name in type_names(session):
        names += [f"{prefix}{type_name}" for prefix in TYPE_PREFIXES]
    return names


def _config_default(opts: Options, resource: str) -> int:
    option = BASE_RESOURCES.get(resource)
    return int(getattr(opts, option)) if option else -1


def unified_limits(session: Session, opts: Options, project_id: str | None) -> dict[str, int]:
    """Every resource's limit as identity's unified limits set it (the project's limit,
    else the registered default, else -1); ``project_id`` None: the defaults."""
    reader = opts.unified_limits
    assert reader is not None
    found = reader.project_limits(project_id) if project_id else reader.defaults()
    return {name: found.get(name, -1) for name in resources(session)}


def class_limits(
    session: Session, opts: Options, class_name: str = DEFAULT_CLASS
) -> dict[str, int]:
    """The defaults: the class ``default`` rows over the configured defaults (another
    class: its rows over the defaults)."""
    if opts.unified_limits is not None:
        return unified_limits(session, opts, None)
    values = {name: _config_default(opts, name) for name in resources(session)}
    for name in dict.fromkeys([DEFAULT_CLASS, class_name]):
        rows = session.scalars(
            select(models.QuotaClass).where(models.QuotaClass.class_name == name)
        )
        for row in rows:
            if row.resource in values:
                values[row.resource] = row.hard_limit
    return values


def project_limits(session: Session, opts: Options, project_id: str) -> dict[str, int]:
    if opts.unified_limits is not None:
        return unified_limits(session, opts, project_id)
    values = class_limits(session, opts)
    for row in session.scalars(select(models.Quota).where(models.Quota.project_id == project_id)):
        if row.resource in values:
            values[row.resource] = row.hard_limit
    return values


def _expire(session: Session, project_id: str) -> None:
    """Roll back the project's reservations that outlived ``reservation_expire``."""
    stale = list(
        session.scalars(
            select(models.Reservation).where(
                models.Reservation.project_id == project_id,
                models.Reservation.expire < utcnow(),
            )
        )
    )
    if stale:
        _undo(session, stale, into_use=False)


def _usage_rows(
    session: Session, project_id: str, names: Iterable[str]
) -> dict[str, models.QuotaUsage]:
    """The usage rows of ``names``, locked, created when missing."""
    wanted = sorted(set(names) - NOT_COUNTED)
    rows = {
        row.resource: row
        for row in session.scalars(
            select(models.QuotaUsage)
            .where(models.QuotaUsage.project_id == project_id)
            .where(models.QuotaUsage.resource.in_(wanted))
            .with_for_update()
        )
    }
    for name in wanted:
        if name not in rows:
            row = models.QuotaUsage(
                project_id=project_id, resource=name, in_use=0, reserved=0, created_at=utcnow()
            )
            try:
                with session.begin_nested():  # a concurrent first use may have made it
                    session.add(row)
                    session.flush()
            except IntegrityError:
                row = session.scalars(
                    select(models.QuotaUsage)
                    .where(models.QuotaUsage.project_id == project_id)
                    .where(models.QuotaUsage.resource == name)
                    .with_for_update()
                ).one()
            rows[name] = row
    session.flush()
    return rows


def _over(resource: str, limit: int, used: int, delta: int) -> exception.QuotaError:
    """Upstream's error for going over ``resource``."""
    if resource.startswith("gigabytes") or resource == "backup_gigabytes":
        name = resource if resource != "backup_gigabytes" else "backup_gigabytes"
        return exception.VolumeSizeExceedsAvailableQuota(
            name=name, requested=delta, quota=limit, consumed=used
        )
    if resource.startswith("volumes"):
        return exception.VolumeLimitExceeded(allowed=limit, name=resource)
    if resource.startswith("snapshots"):
        return exception.SnapshotLimitExceeded(allowed=limit)
    if resource == "backups":
        return exception.BackupLimitExceeded(allowed=limit)
    if resource == "groups":
        return exception.GroupLimitExceeded(allowed=limit)
    return exception.OverQuota(overs=resource)


def _check(
    session: Session, opts: Options, project_id: str, deltas: dict[str, int]
) -> dict[str, models.QuotaUsage]:
    _expire(session, project_id)
    rows = _usage_rows(session, project_id, deltas)
    limits = project_limits(session, opts, project_id)
    # gigabytes before volumes: upstream reports the size first
    for resource in sorted(rows, key=lambda r: (not r.startswith("gigabytes"), r)):
        delta = deltas[resource]
        limit = limits.get(resource, -1)
        row = rows[resource]
        used = row.in_use + row.reserved
        if delta > 0 and limit >= 0 and used + delta > limit:
            raise _over(resource, limit, used, delta)
    return rows


def check_size_limit(session: Session, opts: Options, project_id: str, size: int) -> None:
    """``per_volume_gigabytes``: VolumeSizeExceedsLimit for a volume larger than it."""
    limit = project_limits(session, opts, project_id).get("per_volume_gigabytes", -1)
    if limit >= 0 and size > limit:
        raise exception.VolumeSizeExceedsLimit(size=size, limit=limit)


def consume(session: Session, opts: Options, project_id: str, deltas: dict[str, int]) -> None:
    """Add ``deltas`` to ``in_use`` now, in the caller's transaction (QuotaError when a
    positive delta goes over a limit)."""
    rows = _check(session, opts, project_id, deltas)
    for resource, row in rows.items():
        row.in_use = max(0, row.in_use + deltas[resource])
        row.updated_at = utcnow()


def release(session: Session, project_id: str, deltas: dict[str, int]) -> None:
    """Take ``deltas`` (positive numbers) off ``in_use`` (never below zero)."""
    rows = _usage_rows(session, project_id, deltas)
    for resource, row in rows.items():
        row.in_use = max(0, row.in_use - deltas[resource])
        row.updated_at = utcnow()


def reserve(
    session: Session, opts: Options, project_id: str, deltas: dict[str, int]
) -> tuple[str, ...]:
    """Reserve ``deltas`` (QuotaError when over); returns the reservation ids."""
    rows = _check(session, opts, project_id, deltas)
    expire = utcnow() + timedelta(seconds=int(opts.reservation_expire))
    ids = []
    for resource, row in rows.items():
        delta = deltas[resource]
        if delta == 0:
            continue
        if delta > 0:
            row.reserved += delta
        reservation = models.Reservation(
            id=str(uuid.uuid4()),
            project_id=project_id,
            resource=resource,
            delta=delta,
            expire=expire,
            created_at=utcnow(),
        )
        session.add(reservation)
        ids.append(reservation.id)
    return tuple(ids)


def _undo(session: Session, reservations: list[models.Reservation], *, into_use: bool) -> None:
    for reservation in reservations:
        rows = _usage_rows(session, reservation.project_id, [reservation.resource])
        row = rows.get(reservation.resource)
        if row is not None:
            if reservation.delta > 0:
                row.reserved = max(0, row.reserved - reservation.delta)
            if into_use:
                row.in_use = max(0, row.in_use + reservation.delta)
            row.updated_at = utcnow()
        session.delete(reservation)


def _reservations(session: Session, ids: Iterable[str]) -> list[models.Reservation]:
    wanted = list(ids)
    if not wanted:
        return []
    return list(
        session.scalars(select(models.Reservation).where(models.Reservation.id.in_(wanted)))
    )


def commit(session: Session, ids: Iterable[str]) -> None:
    """Make the reservations usage (a vanished one — expired — is skipped)."""
    _undo(session, _reservations(session, ids), into_use=True)


def rollback(session: Session, ids: Iterable[str]) -> None:
    _undo(session, _reservations(session, ids), into_use=False)


def volume_deltas(size: int, type_name: str | None, sign: int = 1) -> dict[str, int]:
    """What a volume of ``size`` GiB and type ``type_name`` counts against."""
    deltas = {"volumes": sign, "gigabytes": sign * size}
    if type_name:
        deltas[f"volumes_{type_name}"] = sign
        deltas[f"gigabytes_{type_name}"] = sign * size
    return deltas


def rename_type(session: Session, old: str, new: str) -> None:
    """A renamed volume type keeps its per-type limits and usage."""
    for prefix in TYPE_PREFIXES:
        for model in (models.Quota, models.QuotaClass, models.QuotaUsage):
            session.execute(
                update(model)
                .where(model.resource == f"{prefix}{old}")
                .values(resource=f"{prefix}{new}")
            )


# -- the os-quota-sets and os-quota-class-sets APIs ------------------------------------------
def show(db: Database, opts: Options, project_id: str) -> dict[str, Usage]:
    """Every resource's limit and usage for the project."""
    with db.reader() as session:
        limits = project_limits(session, opts, project_id)
        usage = {
            row.resource: row
            for row in session.scalars(
                select(models.QuotaUsage).where(models.QuotaUsage.project_id == project_id)
            )
        }
        found = {}
        for name, limit in limits.items():
            row = usage.get(name)
            found[name] = Usage(
                limit=limit,
                in_use=row.in_use if row else 0,
                reserved=row.reserved if row else 0,
            )
        return found


def defaults(db: Database, opts: Options) -> dict[str, int]:
    with db.reader() as session:
        return class_limits(session, opts)


def _validate(session: Session, values: dict[str, int], kind: str) -> None:
    known = set(resources(session))
    bad = [key for key in values if key not in known]
    if bad:
        raise exception.InvalidInput(reason=f"Bad key(s) in {kind}: {', '.join(bad)}")


def update_project(
    db: Database, opts: Options, project_id: str, values: dict[str, int]
) -> dict[str, int]:
    """Set the project's limits; a limit below current usage is refused. With unified
    limits nothing is stored (as Nova's update APIs under its unified-limits driver):
    the answer is identity's limits."""

    def tx(session: Session) -> dict[str, int]:
        _validate(session, values, "quota set")
        if opts.unified_limits is not None:
            return project_limits(session, opts, project_id)
        usage = {
            row.resource: row.in_use + row.reserved
            for row in session.scalars(
                select(models.QuotaUsage).where(models.QuotaUsage.project_id == project_id)
            )
        }
        for key, value in values.items():
            used = usage.get(key, 0)
            if key != "per_volume_gigabytes" and value != -1 and value < used:
                raise exception.Invalid(
                    f"Quota {key} limit must be equal or greater than existing resources. "
                    f"Current usage is {used} and the requested limit is {value}."
                )
        for key, value in values.items():
            row = session.get(models.Quota, (project_id, key))
            if row is None:
                session.add(
                    models.Quota(
                        project_id=project_id, resource=key, hard_limit=value, created_at=utcnow()
                    )
                )
            else:
                row.hard_limit = value
                row.updated_at = utcnow()
        session.flush()
        return project_limits(session, opts, project_id)

    return db.write(tx)


def delete_project(db: Database, project_id: str) -> None:
    """Forget the project's own limits (the defaults apply again)."""

    def tx(session: Session) -> None:
        session.execute(delete(models.Quota).where(models.Quota.project_id == project_id))

    db.write(tx)


def show_class(db: Database, opts: Options, class_name: str) -> dict[str, int]:
    with db.reader() as session:
        return class_limits(session, opts, class_name)


def update_class(
    db: Database, opts: Options, class_name: str, values: dict[str, int]
) -> dict[str, int]:
    def tx(session: Session) -> dict[str, int]:
        _validate(session, values, "quota class set")
        if opts.unified_limits is not None:  # nothing stored, as update_project
            return class_limits(session, opts, class_name)
        for key, value in values.items():
            row = session.get(models.QuotaClass, (class_name, key))
            if row is None:
                session.add(
                    models.QuotaClass(
                        class_name=class_name, resource=key, hard_limit=value, created_at=utcnow()
                    )
                )
            else:
                row.hard_limit = value
                row.updated_at = utcnow()
        session.flush()
        return class_limits(session, opts, class_name)

    return db.write(tx)
