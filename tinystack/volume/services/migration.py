"""Volume migration's database side: a volume's data moves to another backend, its id
stays (``os-migrate_volume``, and a retype with migration policy ``on-demand`` whose new
type the volume's backend cannot serve).

The destination's manager (``manager/migration.py``) does the work under a ``workers``
record ``migrate`` addressed to it, so a restarted destination fails the migration and
removes its half-written copy; the source's data is untouched until :func:`migrated`
moves the row, in one transaction, to the destination (``migration_status`` ``success``).
The destination stores the copy under the volume's own id (the backends keep their data
apart, which the manager checks first), so no ``name_id`` indirection is needed.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.db import Database
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models, rpcapi
from tinystack.volume.payloads import MigrateSpec
from tinystack.volume.services import _rows, messages, quotas, scheduling, workers
from tinystack.volume.services.deps import Deps

#: migration statuses of a volume no migration is running on
IDLE = (None, "success", "error")


def refuse_unmovable(session: Session, row: models.Volume) -> None:
    """What upstream's generic (host copy) migration cannot move."""
    if row.status != "available":
        raise exception.InvalidVolume(
            reason=f"Volume {row.id} status must be available to be migrated (migrating an "
            f"in-use volume needs Nova's swap_volume), but current status is: {row.status}."
        )
    if row.migration_status not in IDLE:
        raise exception.InvalidVolume(reason="Volume is already part of an active migration.")
    snapshots = session.scalar(
        select(func.count()).select_from(models.Snapshot).where(
            models.Snapshot.volume_id == row.id
        )
    )  # fmt: skip
    if snapshots:
        raise exception.InvalidVolume(reason=f"Volume {row.id} must not have snapshots.")
    if row.group_id or row.consistencygroup_id:
        raise exception.InvalidVolume(reason=f"Volume {row.id} must not be part of a group.")


def begin(session: Session, row: models.Volume, spec: MigrateSpec, status: str) -> None:
    """The volume (``status``, migration ``starting``) waits for its destination."""
    row.status = status
    row.migration_status = "starting"
    row.updated_at = utcnow()
    workers.begin(session, "Volume", row.id, status, "migrate",
                  rpcapi.backend_of(spec.dest_host), spec.to_primitive())  # fmt: skip


def migrate(deps: Deps, ctx: RequestContext, volume_id: str, host: str, rule: str) -> None:
    """``os-migrate_volume``: to ``host`` (``host@backend`` or ``host@backend#pool``); the
    volume is ``maintenance`` until it ends, whatever ``lock_volume`` says."""

    def tx(session: Session) -> MigrateSpec:
        pools = scheduling.pool_states(session, deps.opts)
        row = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
        _rows.authorize_volume(ctx, rule, row)
        refuse_unmovable(session, row)
        if not row.host:
            raise exception.InvalidVolume(reason=f"Volume {volume_id} has no backend.")
        dest = next((p.name for p in pools if host in (p.name, p.backend)), None)
        if dest is None:
            raise exception.InvalidHost(reason=f"No available service named {host}")
        if rpcapi.backend_of(dest) == rpcapi.backend_of(row.host):
            raise exception.InvalidHost(
                reason="Destination host must be different than the current host."
            )
        spec = MigrateSpec(volume_id, row.host, dest, previous_status=row.status)
        # always locked: an attach, extend or retype mid-copy would be lost or torn,
        # and nothing here aborts a migration for them (upstream's lock_volume=false)
        begin(session, row, spec, "maintenance")
        return spec

    spec = deps.db.write(tx)
    deps.volumes.migrate_volume(CallContext.from_request(ctx), spec)


def begin_retype(db: Database, spec: MigrateSpec) -> bool:
    """A retype the volume's backend cannot serve moves the volume (still ``retyping``)
    to ``spec.dest_host``; False (nothing changed) when the volume cannot move."""

    def tx(session: Session) -> bool:
        row = session.get(models.Volume, spec.volume_id, with_for_update=True)
        if row is None or row.status != "retyping" or row.host != spec.source_host:
            return False
        row.status = spec.previous_status  # what refuse_unmovable checks
        try:
            refuse_unmovable(session, row)
        except exception.InvalidVolume:
            row.status = "retyping"
            return False
        begin(session, row, spec, "retyping")
        return True

    return db.write(tx)


def claim(db: Database, spec: MigrateSpec, statuses: tuple[str, ...]) -> bool:
    """The destination starts: the volume is still where the spec says and waiting."""

    def tx(session: Session) -> bool:
        row = session.get(models.Volume, spec.volume_id, with_for_update=True)
        if row is None or row.host != spec.source_host or row.status not in statuses:
            return False
        if row.migration_status not in ("starting", "migrating"):
            return False
        row.migration_status = "migrating"
        row.updated_at = utcnow()
        return True

    return db.write(tx)


def migrated(db: Database, spec: MigrateSpec, location: str | None) -> None:
    """The copy is complete: the volume is the destination's (and of the new type)."""

    def tx(session: Session) -> None:
        quotas.commit(session, spec.reservations)
        row = session.get(models.Volume, spec.volume_id, with_for_update=True)
        if row is None:
            return
        row.host = spec.dest_host
        row.provider_location = location
        if spec.new_type_id is not None:
            row.volume_type_id = spec.new_type_id
            row.multiattach = _rows.is_multiattach_type(session, spec.new_type_id)
        row.status = spec.previous_status
        row.migration_status = "success"
        row.updated_at = utcnow()
        workers.finish(session, "Volume", spec.volume_id)

    db.write(tx)


def failed(db: Database, spec: MigrateSpec, request_id: str | None, ttl: int) -> None:
    """The volume stays where it was, as it was; ``migration_status`` ``error``."""

    def tx(session: Session) -> None:
        quotas.rollback(session, spec.reservations)
        row = session.get(models.Volume, spec.volume_id, with_for_update=True)
        if row is not None and row.host == spec.source_host:
            row.status = spec.previous_status
            row.migration_status = "error"
            row.updated_at = utcnow()
            if spec.new_type_id is not None:  # a retype: the user learns why
                messages.add(
                    session,
                    project_id=row.project_id,
                    resource_type=messages.VOLUME,
                    resource_uuid=row.id,
                    action_id=messages.SCHEDULE_ALLOCATE_VOLUME,
                    detail_id=messages.NO_BACKEND_AVAILABLE,
                    request_id=request_id,
                    ttl=ttl,
                )
        workers.finish_if(session, "Volume", spec.volume_id, "migrate")

    db.write(tx)


def migrated_away(db: Database, ids: list[str], backend: str) -> set[str]:
    """Of ``ids``, the volumes a successful migration moved off ``backend``: what is left
    of them there is an orphan (a crash between the move and the source's delete)."""
    with db.reader() as session:
        rows = session.execute(
            select(models.Volume.id, models.Volume.host).where(
                models.Volume.id.in_(ids), models.Volume.migration_status == "success"
            )
        ).all()  # fmt: skip
    return {vid for vid, host in rows if host and rpcapi.backend_of(host) != backend}
