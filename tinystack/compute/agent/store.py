"""The agent's view of persistence: what a compute agent reads and writes, as a protocol.

The agents never see the database, its rows or the service layer: they are given an
:class:`AgentStore` (implemented by ``services/agent_store.py``, wired by ``service.py``)
and exchange frozen records and typed changes with it (``objects.py``). Each method is
one transaction, so an operation's final state, its action event and its migration
status land together, as they did when the agent wrote them itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.compute.objects import (
    AgentInstance,
    BlockDevice,
    BlockDeviceChanges,
    EventEnd,
    HostService,
    InstanceChanges,
    MigrationChanges,
    MigrationMeta,
    NetworkRequest,
    NodeSpec,
    ScheduledEvent,
)

#: the states a write expects the instance in (None: whatever it is)
Expected = Sequence[str | None] | None


class AgentStore(Protocol):
    """What the compute agents of one process read and write (each call one transaction)."""

    # -- instances -----------------------------------------------------------------------------
    def load(self, uuid: str, *, read_deleted: bool = False) -> AgentInstance:
        """The instance (InstanceNotFound when it is gone)."""
        ...

    def save(
        self,
        uuid: str,
        changes: InstanceChanges,
        *,
        expected_task_state: Expected = None,
        expected_vm_state: Expected = None,
    ) -> AgentInstance:
        """Apply ``changes`` if the instance is in the expected states; the new instance.

        UnexpectedTaskState (UnexpectedDeleting) when it is not, InstanceNotFound when gone.
        """
        ...

    def claim_build(
        self,
        ctx: CallContext,
        uuid: str,
        *,
        host: str,
        node: str,
        zone: str,
        task_state: str,
        scheduled: ScheduledEvent | None,
    ) -> AgentInstance:
        """A build's first write: this host, its zone (unless one was asked), the next task
        state, and the scheduler's event; the instance must still be scheduling."""
        ...

    def finish(
        self,
        ctx: CallContext,
        uuid: str,
        changes: InstanceChanges,
        *,
        expected_task_state: Expected = None,
        event: EventEnd | None = None,
        migration: tuple[str, str] | None = None,
    ) -> None:
        """An operation's last write: ``changes``, then ``event`` closed (or the action
        finished), then ``migration`` (uuid, status) advanced."""
        ...

    def record_fault(
        self,
        uuid: str,
        error: BaseException,
        *,
        host: str,
        changes: InstanceChanges,
        code: int | None = None,
        ctx: CallContext | None = None,
        event: EventEnd | None = None,
    ) -> None:
        """Record why an operation failed: ``changes`` (nothing at all if the instance is
        gone), the fault, and ``event`` closed with the error."""
        ...

    def action_event(
        self, ctx: CallContext, uuid: str, event: str, host: str
    ) -> AbstractContextManager[None]:
        """Record an action event around a block: started, then Success or Error."""
        ...

    def instances_on(
        self, hosts: Sequence[str], vm_state: str | None = None
    ) -> dict[str, list[AgentInstance]]:
        """host -> the (not deleted) instances the database places there (only those in
        ``vm_state``, if given)."""
        ...

    # -- hosts and zones -----------------------------------------------------------------------
    def zone(self, host: str) -> str:
        """The availability zone of ``host`` (cached briefly)."""
        ...

    def node_uuids(self, hosts: Sequence[str]) -> dict[str, str]:
        """host -> compute node uuid, for hosts registered before."""
        ...

    def register_nodes(self, specs: list[NodeSpec]) -> None:
        """Create or refresh the services and compute nodes of many hosts in one write."""
        ...

    def compute_services(self) -> list[HostService]:
        """Every compute service (the agents pick theirs)."""
        ...

    def heartbeat(self, service_ids: list[int]) -> None: ...

    # -- migrations ----------------------------------------------------------------------------
    def migration(self, uuid: str) -> MigrationMeta:
        """The migration (MigrationNotFound when there is none)."""
        ...

    def update_migration(self, uuid: str, changes: MigrationChanges) -> MigrationMeta: ...

    def evacuations_from(self, host: str) -> list[MigrationMeta]:
        """The evacuations away from ``host`` its agent has not cleaned up after."""
        ...

    def latest_live_migration(self, instance_uuid: str) -> MigrationMeta | None:
        """The instance's most recent live migration (None when it had none)."""
        ...

    def advance_live_migration(self, uuid: str, status: str) -> bool:
        """Set the status of a live migration that has not switched over (to
        ``post-migrating``, or an end: ``error``, ``failed``, ``cancelled``): False when it
        had ended, or its destination had taken the instance (``claim_live_migration``)."""
        ...

    def claim_live_migration(self, uuid: str, host: str, node: str | None) -> bool:
        """The destination takes a ``post-migrating`` migration's instance (host and node):
        False when the migration was ended first. Of this and ``advance_live_migration`` on one
        migration exactly one succeeds."""
        ...

    def live_migrations_to(self, host: str) -> list[MigrationMeta]:
        """Live migrations into ``host`` (under way or ended) whose instance is elsewhere."""
        ...

    # -- ports ---------------------------------------------------------------------------------
    def wants_ports(self, requested: list[dict[str, JSON]] | str | None) -> bool:
        """Whether a build with these requested networks allocates ports."""
        ...

    def allocate_ports(
        self, ctx: CallContext, inst: AgentInstance, host: str
    ) -> list[dict[str, JSON]]:
        """Create or adopt the instance's ports and bind them to ``host``; their VIFs."""
        ...

    def attach_port(
        self,
        ctx: CallContext,
        inst: AgentInstance,
        host: str,
        zone: str,
        request: NetworkRequest,
    ) -> dict[str, JSON]:
        """Create (or adopt) one port for the instance, bound to ``host``; its VIF."""
        ...

    def choose_auto_network(self, ctx: CallContext, project_id: str) -> str | None: ...

    def release_ports(self, ctx: CallContext, vifs: list[dict[str, JSON]]) -> None:
        """Delete the ports compute created; unbind those the user brought."""
        ...

    def release_instance_ports(
        self, ctx: CallContext, inst: AgentInstance, strict: bool = False
    ) -> None:
        """Release every port of the instance, also those its ``network_info`` misses
        (``strict``: raise ClientError when the network service could not release one)."""
        ...

    def refresh_ports(self, inst: AgentInstance) -> list[dict[str, JSON]]:
        """The instance's VIFs as the network service now sees them."""
        ...

    # -- block devices -------------------------------------------------------------------------
    def block_devices(self, uuid: str) -> list[BlockDevice]:
        """The instance's volumes (its block device mappings), in mapping order."""
        ...

    def update_block_device(self, bdm_uuid: str, changes: BlockDeviceChanges) -> BlockDevice:
        """Write what an attach, swap or boot learnt (VolumeBDMNotFound when it is gone)."""
        ...

    def destroy_block_device(self, bdm_uuid: str) -> None:
        """Forget a mapping (its volume is detached; a missing one is not an error)."""
        ...

    def release_volumes(self, ctx: CallContext, uuid: str) -> None:
        """Server delete: end the attachments of the instance's volumes, delete those marked
        delete_on_termination and forget the mappings (failures are logged, not raised)."""
        ...
