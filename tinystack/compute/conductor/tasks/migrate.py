"""Resize, cold migration and unshelve: flows that schedule an existing instance."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from tinystack.common.clients.session import ClientError
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, states
from tinystack.compute.conductor.tasks.base import Task
from tinystack.compute.conductor.tasks.build import remote_reason
from tinystack.compute.objects import FlavorMeta, MoveRequest, RequestSpec, Selection
from tinystack.compute.services import instance_actions, instances, migrations
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.migrations import MigrationRecord
from tinystack.compute.services.records import ServerRecord

LOG = logging.getLogger(__name__)
MIGRATE_EVENT = "conductor_migrate_server"
UNSHELVE_EVENT = "conductor_unshelve_instance"
T = states.Task


class MoveAllocationsTask(Task[None]):
    """Let the migration hold the source allocations while the instance claims the dest."""

    def __init__(self, deps: Deps, inst: ServerRecord, migration: MigrationRecord) -> None:
        self.deps, self.inst, self.migration = deps, inst, migration

    def _execute(self) -> None:
        if not self.deps.placement.move_allocations(
            self.inst.uuid, self.migration.uuid, consumer_type="MIGRATION"
        ):
            raise exception.ComputeUnavailable("placement refused to move the allocations")

    def rollback(self, exc: Exception) -> None:
        self.deps.placement.move_allocations(
            self.migration.uuid, self.inst.uuid, consumer_type="INSTANCE"
        )


class SelectDestinationTask(Task[Selection]):
    def __init__(
        self,
        deps: Deps,
        ctx: CallContext,
        inst: ServerRecord,
        spec: RequestSpec,
        try_same_host_last: bool,
    ) -> None:
        self.deps, self.ctx, self.inst, self.spec = deps, ctx, inst, spec
        self.try_same_host_last = try_same_host_last

    def _select(self, spec: RequestSpec) -> Selection:
        found = self.deps.scheduler.select_destinations(self.ctx, spec, [self.inst.uuid])
        return found.host_lists[0].selections[0]

    def _execute(self) -> Selection:
        try:
            return self._select(self.spec)
        except Exception as exc:
            if not self.try_same_host_last or not self.spec.ignore_hosts:
                raise
            LOG.debug("no other host for %s (%s): trying its own", self.inst.uuid, exc)
            return self._select(replace(self.spec, ignore_hosts=()))


def spec_for(inst: ServerRecord, flavor: FlavorMeta, move: MoveRequest) -> RequestSpec:
    """The instance's stored request spec, for one instance of ``flavor``, moved as asked."""
    spec = RequestSpec.from_dict(inst.request_spec or {})
    return replace(
        spec,
        flavor=flavor,
        num_instances=1,
        project_id=inst.project_id,
        user_id=inst.user_id,
        force_hosts=(),
        force_nodes=(),
        requested_destination=move.requested_destination,
        ignore_hosts=move.ignore_hosts,
        availability_zone=move.availability_zone
        if move.availability_zone is not None
        else spec.availability_zone,
    )


class MigrationFlow:
    def __init__(self, deps: Deps, ctx: CallContext) -> None:
        self.deps, self.ctx = deps, ctx

    def run(
        self,
        uuid: str,
        move: MoveRequest,
        new_flavor: FlavorMeta | None,
        migration_type: str,
    ) -> None:
        started = utcnow()
        inst = instances.get(self.deps.db, uuid)
        flavor = new_flavor or FlavorMeta.from_dict(dict(inst.flavor))
        migration = migrations.create(
            self.deps.db,
            inst,
            migration_type=migration_type,
            old_flavor_id=(inst.flavor or {}).get("id"),
            new_flavor_id=flavor.id,
            user_id=self.ctx.user_id,
            project_id=inst.project_id,
        )
        spec = spec_for(inst, flavor, move)
        moving = MoveAllocationsTask(self.deps, inst, migration)
        try:
            moving.execute()
            try:
                dest = SelectDestinationTask(
                    self.deps,
                    self.ctx,
                    inst,
                    spec,
                    try_same_host_last=move.same_host_last,
                ).execute()
            except Exception as exc:
                moving.rollback(exc)
                raise
        except Exception as exc:
            self._fail(uuid, migration.uuid, remote_reason(exc), started)
            return

        def write(session: Session) -> None:
            migrations.update_in(
                session, migration.uuid, dest_compute=dest.host, dest_node=dest.nodename
            )
            instance_actions.event_finish_in(
                session, self.ctx, uuid, MIGRATE_EVENT, started=started, host=dest.host
            )

        self.deps.db.write(write)
        self.deps.agents.prep_resize(self.ctx, dest.host, uuid, migration.uuid, flavor)

    def _fail(
        self, uuid: str, migration_uuid: str, error: BaseException, started: datetime
    ) -> None:
        LOG.info("cannot migrate %s: %s", uuid, error)
        fail_move(self.deps, self.ctx, uuid, migration_uuid, error, started,
                  T.RESIZE_PREP, MIGRATE_EVENT)  # fmt: skip


class UnshelveFlow:
    def __init__(self, deps: Deps, ctx: CallContext) -> None:
        self.deps, self.ctx = deps, ctx

    def run(self, uuid: str, move: MoveRequest) -> None:
        started = utcnow()
        inst = instances.get(self.deps.db, uuid)
        spec = spec_for(inst, FlavorMeta.from_dict(dict(inst.flavor)), move)
        try:
            dest = SelectDestinationTask(self.deps, self.ctx, inst, spec, False).execute()
        except Exception as exc:
            error = remote_reason(exc)

            def fail(session: Session) -> None:
                try:
                    instances.save_in(
                        session, uuid, {"task_state": None}, expected_task_state=[T.UNSHELVING]
                    )
                except (exception.InstanceNotFound, exception.UnexpectedTaskState):
                    return
                instances.add_fault(session, uuid, error)
                instance_actions.event_finish_in(
                    session,
                    self.ctx,
                    uuid,
                    UNSHELVE_EVENT,
                    error=error,
                    started=started,
                    finish_action=True,
                )

            self.deps.db.write(fail)
            return

        def write(session: Session) -> None:
            updates: instances.InstanceUpdates = {"host": dest.host, "node": dest.nodename}
            if move.availability_zone:
                updates["availability_zone"] = move.availability_zone
            instances.save_in(session, uuid, updates, expected_task_state=[T.UNSHELVING])
            instance_actions.event_finish_in(
                session, self.ctx, uuid, UNSHELVE_EVENT, started=started, host=dest.host
            )

        try:
            self.deps.db.write(write)
        except (exception.InstanceNotFound, exception.UnexpectedTaskState):
            try:
                self.deps.placement.delete_allocations(uuid)
            except ClientError:
                pass
            return
        self.deps.agents.unshelve_instance(self.ctx, dest.host, uuid)


def fail_move(
    deps: Deps,
    ctx: CallContext,
    uuid: str,
    migration_uuid: str,
    error: BaseException,
    started: datetime,
    task_state: str,
    event: str,
) -> None:
    """A move (migration, evacuation, live migration) that could not start: its migration
    in ``error``; the instance, if still in ``task_state``, back to none with the fault
    and its action's event finished with the error."""

    def write(session: Session) -> None:
        migrations.update_in(session, migration_uuid, status="error")
        try:
            instances.save_in(session, uuid, {"task_state": None}, expected_task_state=[task_state])
        except (exception.InstanceNotFound, exception.UnexpectedTaskState):
            return
        instances.add_fault(session, uuid, error)
        instance_actions.event_finish_in(
            session, ctx, uuid, event, error=error, started=started, finish_action=True
        )

    deps.db.write(write)
