"""The compute agents' store: their reads and writes, on the database and the network.

Implements the agents' ``AgentStore`` protocol (``agent/store.py``) structurally: the
agents get this object from ``service.py`` and see records (``AgentInstance``,
``MigrationMeta``, ``HostService``), never rows or sessions. Each method is one
transaction built from the service layer's own pieces (``instances``,
``instance_actions``, ``migrations``, ``hosts``, ``ports``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from contextlib import AbstractContextManager

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common.clients.network import NetworkClient
from tinystack.common.clients.volume import VolumeClient
from tinystack.common.db import Database
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import TTLCache
from tinystack.compute import exception, models, states
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
from tinystack.compute.services import (
    _rows,
    _volumes,
    availability_zones,
    block_devices,
    instance_actions,
    instances,
    migrations,
    ports,
)
from tinystack.compute.services import hosts as host_services
from tinystack.compute.services.migrations import MigrationRecord
from tinystack.compute.services.records import ServerRecord

#: the states a write expects the instance in (None: whatever it is)
Expected = Sequence[str | None] | None


def _expecting(task_state: Expected, vm_state: Expected) -> dict[str, Sequence[str | None]]:
    found: dict[str, Sequence[str | None]] = {}
    if task_state is not None:
        found["expected_task_state"] = task_state
    if vm_state is not None:
        found["expected_vm_state"] = vm_state
    return found


def _migration(row: models.Migration | MigrationRecord) -> MigrationMeta:
    return MigrationMeta(
        uuid=row.uuid,
        source_host=row.source_compute or "",
        dest_host=row.dest_compute or "",
        migration_type=row.migration_type,
        source_node=row.source_node,
        dest_node=row.dest_node,
        instance_uuid=row.instance_uuid,
        status=row.status,
    )


class DatabaseAgentStore:
    """The agents' store on compute's database, with the network client for ports and
    the volume client for releasing volumes."""

    def __init__(
        self,
        db: Database,
        network: NetworkClient,
        volume: VolumeClient,
        *,
        name_template: str,
        default_zone: str,
        zone_cache: TTLCache[str],
    ) -> None:
        self.db = db
        self.network = network
        self.volume = volume
        self.name_template = name_template
        self.default_zone = default_zone
        self.zone_cache = zone_cache

    # -- instances -----------------------------------------------------------------------------
    def record(self, row: models.Instance | ServerRecord) -> AgentInstance:
        """The agent's record of an instance row (the driver's view named by the template)."""
        meta = dataclasses.replace(
            instances.meta(row), name=instances.instance_name(row, self.name_template)
        )
        return AgentInstance(
            uuid=row.uuid,
            meta=meta,
            project_id=row.project_id,
            user_id=row.user_id,
            host=row.host,
            node=row.node,
            availability_zone=row.availability_zone,
            vm_state=row.vm_state,
            task_state=row.task_state,
            power_state=row.power_state,
            flavor=row.flavor,
            old_flavor=row.old_flavor,
            system_metadata=row.system_metadata,
            network_info=row.network_info,
            security_groups=row.security_groups,
            request_spec=row.request_spec,
            deleted=row.deleted,
            created_at=row.created_at,
            launched_at=row.launched_at,
            terminated_at=row.terminated_at,
        )

    def load(self, uuid: str, *, read_deleted: bool = False) -> AgentInstance:
        with self.db.reader() as session:
            return self.record(_rows.instance(session, uuid, read_deleted=read_deleted))

    def save(
        self,
        uuid: str,
        changes: InstanceChanges,
        *,
        expected_task_state: Expected = None,
        expected_vm_state: Expected = None,
    ) -> AgentInstance:
        expecting = _expecting(expected_task_state, expected_vm_state)

        def write(session: Session) -> AgentInstance:
            return self.record(instances.save_in(session, uuid, changes, **expecting))

        return self.db.write(write)

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
        def write(session: Session) -> AgentInstance:
            row = instances.save_in(
                session,
                uuid,
                {
                    "host": host,
                    "node": node,
                    "launched_on": host,
                    "availability_zone": func.coalesce(models.Instance.availability_zone, zone),
                    "task_state": task_state,
                },
                expected_task_state=[states.Task.SCHEDULING],
                expected_vm_state=[states.BUILDING],
            )
            if scheduled:
                instance_actions.event_finish_in(
                    session,
                    ctx,
                    uuid,
                    scheduled.event,
                    started=scheduled.started,
                    host=scheduled.host or host,
                )
            return self.record(row)

        return self.db.write(write)

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
        expecting = _expecting(expected_task_state, None)

        def write(session: Session) -> None:
            instances.save_in(session, uuid, changes, **expecting)
            if migration is not None:
                migrations.update_in(session, migration[0], status=migration[1])
            if event is None:
                instance_actions.finish(session, ctx, uuid)
            else:
                _end_event(session, ctx, uuid, event)

        self.db.write(write)

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
        def write(session: Session) -> None:
            if changes:
                try:
                    instances.save_in(session, uuid, changes)
                except exception.InstanceNotFound:
                    return
            instances.add_fault(session, uuid, error, host=host, code=code)
            if ctx is not None and event is not None:
                _end_event(session, ctx, uuid, event)

        self.db.write(write)

    def action_event(
        self, ctx: CallContext, uuid: str, event: str, host: str
    ) -> AbstractContextManager[None]:
        return instance_actions.record(self.db, ctx, uuid, event, host)

    def instances_on(
        self, hosts: Sequence[str], vm_state: str | None = None
    ) -> dict[str, list[AgentInstance]]:
        found: dict[str, list[AgentInstance]] = {}
        names = list(hosts)
        with self.db.reader() as session:
            for start in range(0, len(names), 500):
                chunk = names[start : start + 500]
                query = select(models.Instance).where(
                    models.Instance.host.in_(chunk), models.Instance.deleted.is_(False)
                )
                if vm_state is not None:
                    query = query.where(models.Instance.vm_state == vm_state)
                for row in session.scalars(query):
                    if row.host is not None:
                        found.setdefault(row.host, []).append(self.record(row))
        return found

    # -- hosts and zones -----------------------------------------------------------------------
    def zone(self, host: str) -> str:
        found = self.zone_cache.get(host)
        if found is None:
            found = availability_zones.zone_of(self.db, host, self.default_zone)
            self.zone_cache.put(host, found)
        return str(found)

    def node_uuids(self, hosts: Sequence[str]) -> dict[str, str]:
        return host_services.node_uuids(self.db, hosts)

    def register_nodes(self, specs: list[NodeSpec]) -> None:
        host_services.register_nodes(self.db, specs)

    def compute_services(self) -> list[HostService]:
        return [
            HostService(id=s.id, host=s.host, disabled=bool(s.disabled))
            for s in host_services.list_services(self.db, binary=host_services.COMPUTE_BINARY)
        ]

    def heartbeat(self, service_ids: list[int]) -> None:
        host_services.heartbeat(self.db, service_ids)

    # -- migrations ----------------------------------------------------------------------------
    def migration(self, uuid: str) -> MigrationMeta:
        return _migration(_rows.migration(self.db, uuid))

    def update_migration(self, uuid: str, changes: MigrationChanges) -> MigrationMeta:
        def write(session: Session) -> MigrationMeta:
            return _migration(migrations.update_in(session, uuid, **changes))

        return self.db.write(write)

    def evacuations_from(self, host: str) -> list[MigrationMeta]:
        return [_migration(m) for m in migrations.evacuations_from(self.db, host)]

    def latest_live_migration(self, instance_uuid: str) -> MigrationMeta | None:
        found = migrations.list_migrations(
            self.db, instance_uuid=instance_uuid, migration_type="live-migration", limit=1
        )
        return _migration(found[0]) if found else None

    def advance_live_migration(self, uuid: str, status: str) -> bool:
        return self.db.write(lambda session: migrations.advance_live_in(session, uuid, status))

    def claim_live_migration(self, uuid: str, host: str, node: str | None) -> bool:
        return self.db.write(lambda session: migrations.claim_live_in(session, uuid, host, node))

    def live_migrations_to(self, host: str) -> list[MigrationMeta]:
        return [_migration(m) for m in migrations.live_migrations_to(self.db, host)]

    # -- ports ---------------------------------------------------------------------------------
    def wants_ports(self, requested: list[dict[str, JSON]] | str | None) -> bool:
        return ports.wants_ports(self.network, requested)

    def allocate_ports(
        self, ctx: CallContext, inst: AgentInstance, host: str
    ) -> list[dict[str, JSON]]:
        return ports.allocate(self.network, ctx, inst, host)

    def attach_port(
        self,
        ctx: CallContext,
        inst: AgentInstance,
        host: str,
        zone: str,
        request: NetworkRequest,
    ) -> dict[str, JSON]:
        return ports._one_port(self.network, ctx, inst, host, zone, request.to_dict(), None)

    def choose_auto_network(self, ctx: CallContext, project_id: str) -> str | None:
        return ports.choose_auto_network(self.network, ctx, project_id)

    def release_ports(self, ctx: CallContext, vifs: list[dict[str, JSON]]) -> None:
        ports.deallocate(self.network, ctx, vifs)

    def release_instance_ports(
        self, ctx: CallContext, inst: AgentInstance, strict: bool = False
    ) -> None:
        ports.deallocate_for(self.network, ctx, inst, strict)

    def refresh_ports(self, inst: AgentInstance) -> list[dict[str, JSON]]:
        return ports.refresh(self.network, inst)

    # -- block devices -------------------------------------------------------------------------
    def block_devices(self, uuid: str) -> list[BlockDevice]:
        return block_devices.list_for(self.db, uuid)

    def update_block_device(self, bdm_uuid: str, changes: BlockDeviceChanges) -> BlockDevice:
        return block_devices.update(self.db, bdm_uuid, changes)

    def destroy_block_device(self, bdm_uuid: str) -> None:
        block_devices.destroy(self.db, bdm_uuid)

    def release_volumes(self, ctx: CallContext, uuid: str) -> None:
        _volumes.release_all(self.db, self.volume, ctx, uuid)


def _end_event(session: Session, ctx: CallContext, uuid: str, event: EventEnd) -> None:
    instance_actions.event_finish_in(
        session,
        ctx,
        uuid,
        event.name,
        error=event.error,
        host=event.host,
        started=event.started,
        finish_action=event.finish_action,
    )
