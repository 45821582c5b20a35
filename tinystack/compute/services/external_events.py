"""External events (``os-server-external-events``): other services report to the agents.

The network service says when a port is plugged, unplugged, changed or deleted, the block
storage service when it extended an attached volume (``volume-extended``, tagged with the
volume id); each event goes to the agent of the instance's host.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception
from tinystack.compute.services import instance_actions, instances
from tinystack.compute.services.deps import Deps

#: the outcome of one event, as upstream reports it per event
DELIVERED = 200
NO_INSTANCE = 404
NO_HOST = 422


@dataclass(frozen=True, slots=True)
class ExternalEvent:
    name: str
    server_uuid: str
    status: str
    tag: str | None


def deliver(deps: Deps, ctx: CallContext, events: Sequence[ExternalEvent]) -> list[int]:
    """Cast each event to its instance's agent; the outcome of each, in order."""
    outcomes = []
    for event in events:
        try:
            inst = instances.get(deps.db, event.server_uuid)
        except exception.InstanceNotFound:
            outcomes.append(NO_INSTANCE)
            continue
        if not inst.host:
            outcomes.append(NO_HOST)
            continue
        if event.name == "volume-extended":
            # the agent records its compute_extend_volume event under this action
            instance_actions.record_start(deps.db, ctx, inst.uuid, instance_actions.EXTEND_VOLUME)
        deps.agents.external_instance_event(
            ctx, inst.host, inst.uuid, event.name, event.tag, event.status
        )
        outcomes.append(DELIVERED)
    return outcomes
