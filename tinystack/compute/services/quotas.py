"""Quotas: limits (user > project > class ``default`` > config), usage counting, checks.

Usage is counted from the database when checked, as upstream's counting quota
driver does, inside the same write transaction as the change it guards, so two
concurrent creates cannot both squeeze under a limit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.exceptions import BadRequest
from tinystack.compute import exception, models
from tinystack.compute.conf import Options

#: resource -> the [compute] option holding its default (None: deprecated, fixed default)
RESOURCES: dict[str, str | None] = {
    "instances": "quota_instances",
    "cores": "quota_cores",
    "ram": "quota_ram",
    "metadata_items": "quota_metadata_items",
    "injected_files": "quota_injected_files",
    "injected_file_content_bytes": "quota_injected_file_content_bytes",
    "injected_file_path_bytes": "quota_injected_file_path_length",
    "key_pairs": "quota_key_pairs",
    "server_groups": "quota_server_groups",
    "server_group_members": "quota_server_group_members",
    "fixed_ips": None,
    "floating_ips": None,
    "security_groups": None,
    "security_group_rules": None,
}
DEPRECATED_DEFAULTS = {
    "fixed_ips": -1,
    "floating_ips": 10,
    "security_groups": 10,
    "security_group_rules": 20,
}
NETWORK_QUOTAS = ("fixed_ips", "floating_ips", "security_groups", "security_group_rules")
FILE_QUOTAS = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
COUNTED = ("instances", "cores", "ram", "key_pairs", "server_groups")


def hidden_for(version: tuple[int, int]) -> tuple[str, ...]:
    """Resources the API no longer shows at this microversion."""
    hidden: tuple[str, ...] = ()
    if version >= (2, 36):
        hidden += NETWORK_QUOTAS
    if version >= (2, 57):
        hidden += FILE_QUOTAS
    return hidden


def config_defaults(opts: Options) -> dict[str, int]:
    values = {}
    for resource, option in RESOURCES.items():
        values[resource] = int(getattr(opts, option)) if option else DEPRECATED_DEFAULTS[resource]
    return values


#: Nova's unified-limits resource names (identity's registered and project limits of the
#: compute service) -> the quota each one sets
UNIFIED_NAMES = {
    "servers": "instances",
    "class:VCPU": "cores",
    "class:MEMORY_MB": "ram",
    "server_metadata_items": "metadata_items",
    "server_injected_files": "injected_files",
    "server_injected_file_content_bytes": "injected_file_content_bytes",
    "server_injected_file_path_bytes": "injected_file_path_bytes",
    "server_key_pairs": "key_pairs",
    "server_groups": "server_groups",
    "server_group_members": "server_group_members",
}


def unified_limits(opts: Options, project_id: str | None) -> dict[str, int]:
    """The quotas as identity's unified limits set them (a project's limit, else the
    registered default; unlimited without a registered limit, -1)."""
    assert opts.unified_limits is not None
    found = (
        opts.unified_limits.project_limits(project_id)
        if project_id
        else opts.unified_limits.defaults()
    )
    limits = dict.fromkeys(RESOURCES, -1)
    limits.update(DEPRECATED_DEFAULTS)
    for name, value in found.items():
        if name in UNIFIED_NAMES:
            limits[UNIFIED_NAMES[name]] = value
    return limits


def class_limits(session: Session, opts: Options, class_name: str = "default") -> dict[str, int]:
    if opts.unified_limits is not None:
        return unified_limits(opts, None)
    limits = config_defaults(opts)
    for row in session.scalars(
        select(models.QuotaClass).where(models.QuotaClass.class_name == class_name)
    ):
        if row.resource in limits:
            limits[row.resource] = row.hard_limit
    return limits


def limits_in(
    session: Session, opts: Options, project_id: str, user_id: str | None = None
) -> dict[str, int]:
    if opts.unified_limits is not None:
        return unified_limits(opts, project_id)
    limits = class_limits(session, opts)
    rows = session.scalars(
        select(models.Quota).where(
            models.Quota.project_id == project_id,
            models.Quota.user_id.is_(None) | (models.Quota.user_id == (user_id or "")),
        )
    )
    project_rows: list[models.Quota] = []
    user_rows: list[models.Quota] = []
    for row in rows:
        (user_rows if row.user_id else project_rows).append(row)
    for row in project_rows + user_rows:
        if row.resource in limits:
            limits[row.resource] = row.hard_limit
    return limits


def instance_usage(session: Session, project_id: str) -> dict[str, int]:
    """instances, cores and ram used by a project (one covering-index scan)."""
    inst = models.Instance
    count, cores, ram = session.execute(
        select(
            func.count(inst.id),
            func.coalesce(func.sum(inst.vcpus), 0),
            func.coalesce(func.sum(inst.memory_mb), 0),
        ).where(inst.project_id == project_id, inst.deleted.is_(False))
    ).one()
    return {"instances": int(count or 0), "cores": int(cores or 0), "ram": int(ram or 0)}


def usage_in(session: Session, project_id: str, user_id: str | None = None) -> dict[str, int]:
    inst = models.Instance
    query = select(
        func.count(inst.id),
        func.coalesce(func.sum(inst.vcpus), 0),
        func.coalesce(func.sum(inst.memory_mb), 0),
    ).where(inst.project_id == project_id, inst.deleted.is_(False))
    if user_id:
        query = query.where(inst.user_id == user_id)
    count, cores, ram = session.execute(query).one()
    groups = session.scalar(
        select(func.count(models.InstanceGroup.id)).where(
            models.InstanceGroup.project_id == project_id
        )
    )
    keypairs: int | None = 0
    if user_id:
        keypairs = session.scalar(
            select(func.count(models.KeyPair.id)).where(models.KeyPair.user_id == user_id)
        )
    return {
        "instances": int(count or 0),
        "cores": int(cores or 0),
        "ram": int(ram or 0),
        "server_groups": int(groups or 0),
        "key_pairs": int(keypairs or 0),
    }


def _over(limit: int, used: int, requested: int) -> bool:
    return limit >= 0 and used + requested > limit


def check_instances(
    session: Session,
    opts: Options,
    project_id: str,
    user_id: str,
    *,
    min_count: int,
    max_count: int,
    vcpus: int,
    memory_mb: int,
) -> int:
    """How many of ``min_count``..``max_count`` instances fit; raise QuotaExceeded if none."""
    limits = limits_in(session, opts, project_id, user_id)
    used = instance_usage(session, project_id)
    fits = max_count
    for resource, per in (("instances", 1), ("cores", vcpus), ("ram", memory_mb)):
        limit = limits[resource]
        if limit < 0 or per == 0:
            continue
        fits = min(fits, max(0, (limit - used[resource]) // per))
    if fits >= min_count:
        return fits
    requested = {"instances": min_count, "cores": vcpus * min_count, "ram": memory_mb * min_count}
    overs = [r for r in ("cores", "instances", "ram") if _over(limits[r], used[r], requested[r])]
    raise exception.QuotaExceeded(
        f"Quota exceeded for {', '.join(overs)}: Requested "
        f"{', '.join(str(requested[r]) for r in overs)}, but already used "
        f"{', '.join(str(used[r]) for r in overs)} of "
        f"{', '.join(str(limits[r]) for r in overs)} {', '.join(overs)}"
    )


def check_resize(
    session: Session, opts: Options, project_id: str, user_id: str, *, cores: int, ram: int
) -> None:
    """Raise QuotaExceeded if growing by ``cores``/``ram`` does not fit."""
    if cores <= 0 and ram <= 0:
        return
    limits = limits_in(session, opts, project_id, user_id)
    used = instance_usage(session, project_id)
    requested = {"cores": max(cores, 0), "ram": max(ram, 0)}
    overs = [r for r in ("cores", "ram") if _over(limits[r], used[r], requested[r])]
    if overs:
        raise exception.QuotaExceeded(
            f"Quota exceeded for {', '.join(overs)}: Requested "
            f"{', '.join(str(requested[r]) for r in overs)}, but already used "
            f"{', '.join(str(used[r]) for r in overs)} of "
            f"{', '.join(str(limits[r]) for r in overs)} {', '.join(overs)}"
        )


def check_metadata(opts: Options, limits: dict[str, int] | None, metadata: dict[str, str]) -> None:
    allowed = (limits or {}).get("metadata_items", int(opts.quota_metadata_items))
    if 0 <= allowed < len(metadata):
        raise exception.QuotaExceeded(f"Quota exceeded for metadata_items: {allowed}")


def check_simple(
    session: Session, opts: Options, project_id: str, user_id: str, resource: str
) -> None:
    """One more key pair or server group."""
    limits = limits_in(session, opts, project_id, user_id)
    used = usage_in(session, project_id, user_id if resource == "key_pairs" else None)
    if _over(limits[resource], used[resource], 1):
        if resource == "key_pairs":
            raise exception.QuotaExceeded("Quota exceeded, too many key pairs.")
        raise exception.QuotaExceeded(f"Quota exceeded, too many {resource.replace('_', ' ')}.")


# -- the quota API ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class QuotaUsage:
    """One resource's limit and what the project (or user) uses of it."""

    limit: int
    in_use: int
    reserved: int = 0


def show(
    db: Database, opts: Options, project_id: str, user_id: str | None = None
) -> dict[str, int]:
    """The limits of ``project_id`` (and ``user_id``), by resource."""
    with db.reader() as session:
        return dict(limits_in(session, opts, project_id, user_id))


def show_usage(
    db: Database, opts: Options, project_id: str, user_id: str | None = None
) -> dict[str, QuotaUsage]:
    """The limits of ``project_id`` (and ``user_id``) with their usage, by resource."""
    with db.reader() as session:
        limits = limits_in(session, opts, project_id, user_id)
        used = usage_in(session, project_id, user_id)
        if not user_id:
            used["key_pairs"] = 0
    return {r: QuotaUsage(limit, used.get(r, 0)) for r, limit in limits.items()}


def defaults(db: Database, opts: Options) -> dict[str, int]:
    with db.reader() as session:
        return class_limits(session, opts)


def update(
    db: Database,
    opts: Options,
    project_id: str,
    values: dict[str, int],
    *,
    user_id: str | None = None,
    force: bool = False,
) -> dict[str, int]:
    def write(session: Session) -> dict[str, int]:
        if not force:
            _validate(session, opts, project_id, user_id, values)
        for resource, limit in values.items():
            row = session.scalars(
                select(models.Quota).where(
                    models.Quota.project_id == project_id,
                    models.Quota.resource == resource,
                    models.Quota.user_id.is_(None)
                    if user_id is None
                    else models.Quota.user_id == user_id,
                )
            ).first()
            if row is None:
                session.add(
                    models.Quota(
                        project_id=project_id, user_id=user_id, resource=resource, hard_limit=limit
                    )
                )
            else:
                row.hard_limit = limit
        session.flush()
        return limits_in(session, opts, project_id, user_id)

    return db.write(write)


def _validate(
    session: Session, opts: Options, project_id: str, user_id: str | None, values: dict[str, int]
) -> None:
    used = usage_in(session, project_id, user_id)
    project_limits = limits_in(session, opts, project_id) if user_id else {}
    for resource, limit in values.items():
        minimum = used.get(resource, 0) if resource in COUNTED else 0
        effective = float("inf") if limit == -1 else limit
        if effective < minimum:
            raise BadRequest(
                f"Quota limit {limit} for {resource} must be greater than or equal to "
                f"already used and reserved {minimum}."
            )
        maximum = project_limits.get(resource, -1)
        if maximum != -1 and effective > maximum:
            raise BadRequest(
                f"Quota limit {limit} for {resource} must be less than or equal to {maximum}."
            )


def delete_all(db: Database, project_id: str, user_id: str | None = None) -> None:
    def write(session: Session) -> None:
        stmt = delete(models.Quota).where(models.Quota.project_id == project_id)
        if user_id:
            stmt = stmt.where(models.Quota.user_id == user_id)
        session.execute(stmt)

    db.write(write)


def update_class(
    db: Database, opts: Options, class_name: str, values: dict[str, int]
) -> dict[str, int]:
    def write(session: Session) -> dict[str, int]:
        for resource, limit in values.items():
            row = session.scalars(
                select(models.QuotaClass).where(
                    models.QuotaClass.class_name == class_name,
                    models.QuotaClass.resource == resource,
                )
            ).first()
            if row is None:
                session.add(
                    models.QuotaClass(class_name=class_name, resource=resource, hard_limit=limit)
                )
            else:
                row.hard_limit = limit
        session.flush()
        return class_limits(session, opts, class_name)

    return db.write(write)


def show_class(db: Database, opts: Options, class_name: str) -> dict[str, int]:
    with db.reader() as session:
        return class_limits(session, opts, class_name)


def known(resources: Iterable[str]) -> None:
    for resource in resources:
        if resource not in RESOURCES:
            raise BadRequest(f"Bad key(s) {resource} in quota_set")
