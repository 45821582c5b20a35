"""Live migration, conductor side: the migration record, the destination and the checks.

The flow (upstream's LiveMigrationTask): a ``live-migration`` migration is ``accepted``;
the instance's allocations move to the migration (the migration consumer holds the source
while the instance claims the destination); the scheduler picks (or verifies the asked)
host and claims it; the destination checks it can take the guest (and leaves a probe in
its instances directory), the source decides shared storage and block migration; then the
migration is ``queued`` and the source agent is told to migrate (``agent/live_migrate.py``).
Any failure before that puts the allocations back, the migration in ``error`` and the
instance back to no task, running where it ran.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from tinystack.common.rpc import RemoteError
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, states
from tinystack.compute.conductor.tasks.build import remote_reason
from tinystack.compute.conductor.tasks.migrate import (
    MoveAllocationsTask,
    SelectDestinationTask,
    fail_move,
    spec_for,
)
from tinystack.compute.objects import Destination, FlavorMeta, LiveMigrateData, MoveRequest
from tinystack.compute.services import instance_actions, instances, migrations
from tinystack.compute.services.deps import Deps

LOG = logging.getLogger(__name__)
EVENT = "conductor_live_migrate_instance"
T = states.Task


def _reason(exc: BaseException) -> BaseException:
    exc = remote_reason(exc)
    if isinstance(exc, RemoteError):
        return exception.MigrationPreCheckError(exc.message)
    return exc


class LiveMigrationFlow:
    def __init__(self, deps: Deps, ctx: CallContext) -> None:
        self.deps, self.ctx = deps, ctx

    def run(self, uuid: str, host: str | None, block_migration: bool | None) -> str:
        """Check and start; returns why it could not start ("" when it did)."""
        started = utcnow()
        inst = instances.get(self.deps.db, uuid)
        flavor = FlavorMeta.from_dict(dict(inst.flavor))
        migration = migrations.create(
            self.deps.db,
            inst,
            migration_type="live-migration",
            old_flavor_id=flavor.id,
            new_flavor_id=flavor.id,
            user_id=self.ctx.user_id,
            project_id=inst.project_id,
            status="accepted",
        )
        move = MoveRequest(
            ignore_hosts=(inst.host,) if inst.host else (),
            requested_destination=Destination(host=host) if host else None,
        )
        moving = MoveAllocationsTask(self.deps, inst, migration)
        try:
            moving.execute()
            try:
                dest = SelectDestinationTask(
                    self.deps, self.ctx, inst, spec_for(inst, flavor, move), False
                ).execute()
                data = self._check(uuid, inst.host or "", dest.host, block_migration)
            except Exception as exc:
                moving.rollback(exc)
                raise
        except Exception as exc:
            error = _reason(exc)
            self._fail(uuid, migration.uuid, error, started)
            return str(getattr(error, "message", "") or error)

        def write(session: Session) -> None:
            migrations.update_in(
                session,
                migration.uuid,
                dest_compute=dest.host,
                dest_node=dest.nodename,
                dest_host=data.dest_address,
                status="queued",
            )
            instance_actions.event_finish_in(
                session, self.ctx, uuid, EVENT, started=started, host=dest.host
            )

        self.deps.db.write(write)
        self.deps.agents.live_migration(self.ctx, inst.host or "", uuid, migration.uuid, data)
        return ""

    def _check(
        self, uuid: str, source: str, dest: str, block_migration: bool | None
    ) -> LiveMigrateData:
        agents = self.deps.agents
        data = agents.check_can_live_migrate_destination(self.ctx, dest, uuid, block_migration)
        try:
            checked = agents.check_can_live_migrate_source(self.ctx, source, uuid, data)
        finally:
            agents.cleanup_live_migration_destination_check(self.ctx, dest, data)
        return replace(checked, probe="")

    def _fail(
        self, uuid: str, migration_uuid: str, error: BaseException, started: datetime
    ) -> None:
        LOG.info("cannot live-migrate %s: %s", uuid, error)
        fail_move(self.deps, self.ctx, uuid, migration_uuid, error, started, T.MIGRATING, EVENT)
