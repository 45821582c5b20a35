"""Evacuate: schedule a server of a dead host elsewhere and have that host rebuild it.

The source's allocations move to the evacuation's migration (the source host is down, its
resources stay taken until its agent comes back and cleans up); the scheduler claims the
destination for the server. With no host to go to (NoValidHost), the allocations move back
and the server is left as it was, its migration in ``error``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.compute import states
from tinystack.compute.conductor.tasks.build import remote_reason
from tinystack.compute.conductor.tasks.migrate import (
    MoveAllocationsTask,
    SelectDestinationTask,
    fail_move,
    spec_for,
)
from tinystack.compute.objects import Evacuation, FlavorMeta, MoveRequest
from tinystack.compute.services import instance_actions, instances, migrations
from tinystack.compute.services.deps import Deps

LOG = logging.getLogger(__name__)
EVACUATE_EVENT = "conductor_rebuild_server"
T = states.Task


class EvacuateFlow:
    def __init__(self, deps: Deps, ctx: CallContext) -> None:
        self.deps, self.ctx = deps, ctx

    def run(self, uuid: str, move: MoveRequest, evacuation: Evacuation) -> None:
        started = utcnow()
        inst = instances.get(self.deps.db, uuid)
        migration = migrations.get(self.deps.db, evacuation.migration_uuid)
        spec = spec_for(inst, FlavorMeta.from_dict(dict(inst.flavor)), move)
        if evacuation.force_host:
            spec = replace(spec, force_hosts=(evacuation.force_host,), requested_destination=None)
        moving = MoveAllocationsTask(self.deps, inst, migration)
        try:
            moving.execute()
            try:
                dest = SelectDestinationTask(self.deps, self.ctx, inst, spec, False).execute()
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
                session, self.ctx, uuid, EVACUATE_EVENT, started=started, host=dest.host
            )

        self.deps.db.write(write)
        self.deps.agents.evacuate_instance(self.ctx, dest.host, uuid, evacuation)

    def _fail(
        self, uuid: str, migration_uuid: str, error: BaseException, started: datetime
    ) -> None:
        LOG.info("cannot evacuate %s: %s", uuid, error)
        fail_move(
            self.deps, self.ctx, uuid, migration_uuid, error, started, T.REBUILDING, EVACUATE_EVENT
        )
