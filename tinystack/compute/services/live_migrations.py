"""Live migration, API side: ``os-migrateLive`` and a server's in-progress live migrations
(``/servers/{id}/migrations``: list, show, ``force_complete``, abort by DELETE).

The action checks the instance and the asked host, puts the instance in task ``migrating``
with a ``live-migration`` instance action and hands over to the conductor
(``conductor/tasks/live_migrate.py``); before 2.34 it waits for the conductor's checks
and answers 400 when they fail. Abort and force-complete are cast to the source host's
agent, which tells its driver (``agent/live_migrate.py``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception, states
from tinystack.compute.objects import LIVE_UNDER_WAY
from tinystack.compute.services import hosts, instance_actions, migrations, servers
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.migrations import MigrationRecord
from tinystack.compute.services.server_actions import begin

T = states.Task
LIVE = "live-migration"
#: statuses of a live migration still under way (upstream's in-progress list for a server)
IN_PROGRESS = LIVE_UNDER_WAY
#: action names (upstream's instance_actions)
LIVE_MIGRATION = "live-migration"
FORCE_COMPLETE = "live_migration_force_complete"
CANCEL = "live_migration_cancel"


def live_migrate(
    deps: Deps,
    ctx: CallContext,
    uuid: str,
    host: str | None,
    block_migration: bool | None,
    *,
    force: bool = False,
    wait: bool = False,
) -> None:
    """Start a live migration (``block_migration`` None: auto); ``wait`` (before 2.34):
    the conductor's checks fail with 400 here."""
    inst = servers.get(deps, ctx, uuid)
    if host is not None:
        try:
            hosts.find_service(deps.db, host, hosts.COMPUTE_BINARY)
        except exception.ComputeHostNotFound as exc:
            raise BadRequest(exc.message) from None
        if host == inst.host:
            raise BadRequest(f"Unable to migrate instance ({uuid}) to current host ({host}).")
    begin(
        deps,
        ctx,
        uuid,
        "os-migrateLive",
        vm_states=[states.ACTIVE, states.PAUSED],
        new_task_state=T.MIGRATING,
        record=LIVE_MIGRATION,
    )
    reason = deps.conductor.live_migrate_instance(
        ctx, uuid, host, block_migration, force=force, wait=wait
    )
    if reason:
        raise BadRequest(reason)


def in_progress(deps: Deps, ctx: CallContext, uuid: str) -> list[MigrationRecord]:
    """The server's live migrations under way, newest first."""
    servers.get(deps, ctx, uuid)
    found = migrations.list_migrations(deps.db, instance_uuid=uuid, migration_type=LIVE)
    return [m for m in found if m.status in IN_PROGRESS]


def get_in_progress(deps: Deps, ctx: CallContext, uuid: str, migration_id: str) -> MigrationRecord:
    for found in in_progress(deps, ctx, uuid):
        if str(found.id) == migration_id:
            return found
    raise NotFound(f"In-progress live migration {migration_id} is not found for server {uuid}.")


def _live(deps: Deps, uuid: str, migration_id: str) -> MigrationRecord:
    """The server's live migration ``migration_id``, while the server is migrating."""
    found = next(
        (
            m
            for m in migrations.list_migrations(deps.db, instance_uuid=uuid, migration_type=LIVE)
            if str(m.id) == migration_id
        ),
        None,
    )
    if found is None:
        raise NotFound(f"Migration {migration_id} for instance {uuid} could not be found.")
    return found


def _start_action(deps: Deps, ctx: CallContext, uuid: str, action: str) -> None:
    def write(session: Session) -> None:
        instance_actions.start(session, ctx, uuid, action)

    deps.db.write(write)


def force_complete(deps: Deps, ctx: CallContext, uuid: str, migration_id: str) -> None:
    inst = servers.get(deps, ctx, uuid)
    servers.check_lock(ctx, inst)
    servers.check_state(inst, "force_complete", None, [T.MIGRATING])
    mig = _live(deps, uuid, migration_id)
    if mig.status != "running":
        raise BadRequest(
            f"Migration {migration_id} state of instance {uuid} is {mig.status}. Cannot "
            "force_complete while the migration is in this state."
        )
    _start_action(deps, ctx, uuid, FORCE_COMPLETE)
    deps.agents.live_migration_force_complete(ctx, mig.source_compute or "", uuid, mig.uuid)


def abort(deps: Deps, ctx: CallContext, uuid: str, migration_id: str, *, queued: bool) -> None:
    """Cancel a running live migration (``queued``, 2.65: also one not yet running)."""
    inst = servers.get(deps, ctx, uuid)
    servers.check_lock(ctx, inst)
    servers.check_state(inst, "abort live migration", None, [T.MIGRATING])
    mig = _live(deps, uuid, migration_id)
    allowed = ("running", "queued", "preparing") if queued else ("running",)
    if mig.status not in allowed:
        raise BadRequest(
            f"Migration {migration_id} state of instance {uuid} is {mig.status}. Cannot "
            "abort live migration while the migration is in this state."
        )
    _start_action(deps, ctx, uuid, CANCEL)
    deps.agents.live_migration_abort(ctx, mig.source_compute or "", uuid, mig.uuid)
