"""Resize, cold migration and unshelve: flows that schedule an existing instance."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from tinystack.common.clients.session import ClientError
from tinystack.compute import exception, models, states
from tinystack.compute.conductor.tasks.base import Task
from tinystack.compute.conductor.tasks.build import remote_reason
from tinystack.compute.context import CallContext
from tinystack.compute.services import instance_actions, instances, migrations
from tinystack.compute.services.common import Deps, utcnow

LOG = logging.getLogger(__name__)
MIGRATE_EVENT = "conductor_migrate_server"
UNSHELVE_EVENT = "conductor_unshelve_instance"
T = states.Task


class MoveAllocationsTask(Task[None]):
    """Let the migration hold the source allocations while the instance claims the dest."""

    def __init__(self, deps: Deps, inst: models.Instance, migration: models.Migration) -> None:
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


class SelectDestinationTask(Task[dict[str, Any]]):
    def __init__(
        self,
        deps: Deps,
        ctx: CallContext,
        inst: models.Instance,
        spec: dict[str, Any],
        try_same_host_last: bool,
    ) -> None:
        self.deps, self.ctx, self.inst, self.spec = deps, ctx, inst, spec
        self.try_same_host_last = try_same_host_last

    def _execute(self) -> dict[str, Any]:
        try:
            return self.deps.scheduler.select_destinations(self.ctx, self.spec, [self.inst.uuid])[
                0
            ][0]
        except Exception as exc:
            if not self.try_same_host_last or not self.spec.get("ignore_hosts"):
                raise
            LOG.debug("no other host for %s (%s): trying its own", self.inst.uuid, exc)
            spec = {**self.spec, "ignore_hosts": []}
            return self.deps.scheduler.select_destinations(self.ctx, spec, [self.inst.uuid])[0][0]


def _spec_for(
    inst: models.Instance, flavor: dict[str, Any], base: dict[str, Any]
) -> dict[str, Any]:
    spec = dict(inst.request_spec or {})
    spec.update(
        {
            "flavor": flavor,
            "num_instances": 1,
            "project_id": inst.project_id,
            "user_id": inst.user_id,
            "force_hosts": [],
            "force_nodes": [],
            "requested_destination": base.get("requested_destination"),
            "ignore_hosts": list(base.get("ignore_hosts") or []),
        }
    )
    if base.get("availability_zone") is not None:
        spec["availability_zone"] = base["availability_zone"]
    if spec.get("availability_zone") is None and inst.availability_zone and base.get("pin_az"):
        spec["availability_zone"] = inst.availability_zone
    return spec


class MigrationFlow:
    def __init__(self, deps: Deps, ctx: CallContext) -> None:
        self.deps, self.ctx = deps, ctx

    def run(
        self,
        uuid: str,
        base_spec: dict[str, Any],
        new_flavor: dict[str, Any] | None,
        migration_type: str,
    ) -> None:
        started = utcnow()
        inst = instances.get(self.deps.db, uuid)
        flavor = new_flavor or dict(inst.flavor)
        migration = migrations.create(
            self.deps.db,
            inst,
            migration_type=migration_type,
            old_flavor_id=(inst.flavor or {}).get("id"),
            new_flavor_id=flavor.get("id"),
            user_id=self.ctx.user_id,
            project_id=inst.project_id,
        )
        spec = _spec_for(inst, flavor, base_spec)
        move = MoveAllocationsTask(self.deps, inst, migration)
        try:
            move.execute()
            try:
                dest = SelectDestinationTask(
                    self.deps,
                    self.ctx,
                    inst,
                    spec,
                    try_same_host_last=bool(base_spec.get("same_host_last")),
                ).execute()
            except Exception as exc:
                move.rollback(exc)
                raise
        except Exception as exc:
            self._fail(uuid, migration.uuid, remote_reason(exc), started)
            return

        def write(session: Session) -> None:
            migrations.update_in(
                session, migration.uuid, dest_compute=dest["host"], dest_node=dest["nodename"]
            )
            instance_actions.event_finish_in(
                session, self.ctx, uuid, MIGRATE_EVENT, started=started, host=dest["host"]
            )

        self.deps.db.write(write)
        self.deps.agents.cast(
            self.ctx,
            dest["host"],
            "prep_resize",
            instance_uuid=uuid,
            migration_uuid=migration.uuid,
            new_flavor=flavor,
        )

    def _fail(
        self, uuid: str, migration_uuid: str, error: BaseException, started: datetime
    ) -> None:
        LOG.info("cannot migrate %s: %s", uuid, error)

        def write(session: Session) -> None:
            migrations.update_in(session, migration_uuid, status="error")
            try:
                instances.save_in(
                    session, uuid, {"task_state": None}, expected_task_state=[T.RESIZE_PREP]
                )
            except (exception.InstanceNotFound, exception.UnexpectedTaskState):
                return
            instances.add_fault(session, uuid, error)
            instance_actions.event_finish_in(
                session,
                self.ctx,
                uuid,
                MIGRATE_EVENT,
                error=error,
                started=started,
                finish_action=True,
            )

        self.deps.db.write(write)


class UnshelveFlow:
    def __init__(self, deps: Deps, ctx: CallContext) -> None:
        self.deps, self.ctx = deps, ctx

    def run(self, uuid: str, base_spec: dict[str, Any]) -> None:
        started = utcnow()
        inst = instances.get(self.deps.db, uuid)
        spec = _spec_for(inst, dict(inst.flavor), base_spec)
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
            updates: dict[str, Any] = {"host": dest["host"], "node": dest["nodename"]}
            if base_spec.get("availability_zone"):
                updates["availability_zone"] = base_spec["availability_zone"]
            instances.save_in(session, uuid, updates, expected_task_state=[T.UNSHELVING])
            instance_actions.event_finish_in(
                session, self.ctx, uuid, UNSHELVE_EVENT, started=started, host=dest["host"]
            )

        try:
            self.deps.db.write(write)
        except (exception.InstanceNotFound, exception.UnexpectedTaskState):
            try:
                self.deps.placement.delete_allocations(uuid)
            except ClientError:
                pass
            return
        self.deps.agents.cast(self.ctx, dest["host"], "unshelve_instance", instance_uuid=uuid)
