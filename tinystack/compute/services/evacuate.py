"""Evacuate: rebuild a server of a dead (or forced down) compute host on another host.

The API checks the request and the source service (it must be down), moves the server to
``rebuilding``, records the action and an ``evacuation`` migration (``accepted``) and casts
to the conductor, which schedules a destination (``conductor/tasks/evacuate.py``). The
destination's agent rebuilds the server from its image (``agent/evacuate.py``) and marks
the migration ``done``; the source's agent, when it comes back, destroys its stale copy
instead of starting it and marks the migration ``completed``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception, states
from tinystack.compute.objects import Destination, Evacuation, MoveRequest
from tinystack.compute.services import hosts, instance_actions, migrations, servers
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.server_actions import begin

T = states.Task
EVACUATE_STATES = [states.ACTIVE, states.STOPPED, states.ERROR]


@dataclass(frozen=True)
class EvacuateRequest:
    """An evacuation as asked for (the API's body, per microversion)."""

    host: str | None = None
    #: before 2.14 the caller says whether the disks are on shared storage
    on_shared_storage: bool | None = None
    admin_password: str | None = None
    #: 2.29 to 2.67: skip the scheduler's checks of ``host``
    force: bool = False
    #: 2.95: the server ends stopped
    stopped: bool = False


def evacuate(deps: Deps, ctx: CallContext, uuid: str, request: EvacuateRequest) -> None:
    inst = servers.get(deps, ctx, uuid)
    host = request.host
    if host is not None:
        try:
            hosts.find_service(deps.db, host, hosts.COMPUTE_BINARY)
        except exception.ComputeHostNotFound:
            raise NotFound(f"Compute host {host} not found.") from None
        if host == inst.host:
            raise BadRequest("The target host can't be the same one.")
    servers.check_lock(ctx, inst)
    servers.check_state(inst, "evacuate", EVACUATE_STATES, [None])
    source = inst.host or ""
    try:
        service = hosts.find_service(deps.db, source, hosts.COMPUTE_BINARY)
    except exception.ComputeHostNotFound:
        raise NotFound(f"Compute host {source} not found.") from None
    if hosts.service_up_checker(deps.opts)(service):
        raise BadRequest(f"Compute service of {source} is still in use.")
    inst = begin(
        deps,
        ctx,
        uuid,
        "evacuate",
        vm_states=EVACUATE_STATES,
        new_task_state=T.REBUILDING,
        record=instance_actions.EVACUATE,
    )
    migration = migrations.create(
        deps.db,
        inst,
        migration_type="evacuation",
        old_flavor_id=(inst.flavor or {}).get("id"),
        new_flavor_id=(inst.flavor or {}).get("id"),
        user_id=ctx.user_id,
        project_id=inst.project_id,
        status="accepted",
        dest_compute=host,
    )
    move = MoveRequest(ignore_hosts=(source,))
    if host is not None:
        move = replace(move, requested_destination=Destination(host=host))
    evacuation = Evacuation(
        migration_uuid=migration.uuid,
        admin_password=request.admin_password,
        on_shared_storage=request.on_shared_storage,
        force_host=host if request.force else None,
        stopped=request.stopped,
    )
    deps.conductor.evacuate_server(ctx, uuid, move, evacuation)
