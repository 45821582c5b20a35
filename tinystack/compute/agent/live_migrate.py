"""Live migration, agent side: checks (both ends), the migration (source), preparation,
switch-over and rollback (destination), abort and force-complete (source).

The source drives it (upstream's ``_do_live_migration``): ``preparing`` while the
destination readies disks, taps and a guest waiting for the state (``pre_live_migration``,
a call), ``running`` while the driver copies memory (and disks, for a block migration)
and reports progress into the migration, ``post-migrating`` once the guest runs on the
destination: the ports are bound there, the source copy goes, the destination takes the
instance (host, node, ACTIVE, migration ``completed``), and the source allocations that
the migration consumer held are released. A failure rolls back: the destination copy
goes, the allocations return to the instance, the migration ends ``failed`` (``cancelled``
for an abort) and the guest keeps running on the source.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace

from tinystack.common.clients.session import ClientError
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.compute import exception, states
from tinystack.compute.agent.context import AgentContext, OperationFailed
from tinystack.compute.objects import (
    AgentInstance,
    LiveMigrateData,
    MigrationChanges,
    MigrationMeta,
    MigrationProgress,
)
from tinystack.compute.virt.driver import MigrationAborted

LOG = logging.getLogger(__name__)
T = states.Task
#: seconds between two progress writes of a running migration
PROGRESS_INTERVAL = 0.5
#: seconds a recovery after a restart waits for placement to answer
RECOVERY_PATIENCE = 300.0


class LiveMigrateOps:
    """Live migration, both ends, of one host."""

    def __init__(self, agent: AgentContext) -> None:
        self.agent = agent
        self._guard = threading.Lock()
        #: instance uuid -> its migration, while the driver moves it
        self._running: dict[str, str] = {}
        #: migrations aborted before the driver started moving them
        self._aborted: set[str] = set()
        #: migration uuid -> what the destination prepared (what a rollback must undo)
        self._prepared: dict[str, LiveMigrateData] = {}

    # -- checks (the conductor calls these) ----------------------------------------------------
    def check_can_live_migrate_destination(
        self, ctx: CallContext, instance_uuid: str, block_migration: bool | None
    ) -> LiveMigrateData:
        inst = self.agent.load(instance_uuid)
        return self.agent.driver.check_can_live_migrate_destination(ctx, inst.meta, block_migration)

    def check_can_live_migrate_source(
        self, ctx: CallContext, instance_uuid: str, data: LiveMigrateData
    ) -> LiveMigrateData:
        inst = self.agent.load(instance_uuid)
        if inst.host != self.agent.host:
            raise exception.InstanceInvalidState("live migrate", instance_uuid, "host", inst.host)
        return self.agent.driver.check_can_live_migrate_source(ctx, inst.meta, data)

    def cleanup_live_migration_destination_check(
        self, ctx: CallContext, data: LiveMigrateData
    ) -> None:
        self.agent.driver.cleanup_live_migration_destination_check(ctx, data)

    # -- the source ----------------------------------------------------------------------------
    def live_migration(
        self, ctx: CallContext, instance_uuid: str, migration_uuid: str, data: LiveMigrateData
    ) -> None:
        with self.agent.operation(ctx, instance_uuid, "compute_live_migration") as ctx:
            inst = self.agent.load(instance_uuid)
            mig = self.agent.store.migration(migration_uuid)
            try:
                data = self._migrate(ctx, inst, mig, data)
            except MigrationAborted:
                LOG.info("live migration %s of %s cancelled", migration_uuid, instance_uuid)
                data = self._prepared.pop(mig.uuid, data)
                self._rollback(ctx, inst, mig, data, "cancelled")
                return
            except Exception as exc:
                LOG.warning("live migration %s of %s failed: %s", mig.uuid, inst.uuid, exc)
                data = self._prepared.pop(mig.uuid, data)
                self._rollback(ctx, inst, mig, data, "failed")
                raise OperationFailed(f"Live migration failed: {exc}") from exc
            self._prepared.pop(mig.uuid, None)
            self._post(ctx, inst, mig, data)

    def _migrate(
        self, ctx: CallContext, inst: AgentInstance, mig: MigrationMeta, data: LiveMigrateData
    ) -> LiveMigrateData:
        self._check_aborted(mig.uuid)
        self.agent.store.update_migration(mig.uuid, {"status": "preparing"})
        timeout = max(float(self.agent.deps.opts.rpc_timeout), 300.0)
        data = self.agent.deps.agents.pre_live_migration(
            ctx, mig.dest_host, inst.uuid, mig.uuid, data, timeout
        )
        self._prepared[mig.uuid] = data
        with self._guard:
            if mig.uuid in self._aborted:
                self._aborted.discard(mig.uuid)
                raise MigrationAborted(f"live migration {mig.uuid} aborted while preparing")
            self._running[inst.uuid] = mig.uuid
        try:
            self.agent.store.update_migration(mig.uuid, {"status": "running"})
            last = 0.0

            def progress(report: MigrationProgress) -> None:
                nonlocal last
                now = time.monotonic()
                if now - last >= PROGRESS_INTERVAL:
                    last = now
                    self.agent.store.update_migration(mig.uuid, _counters(report))

            final = self.agent.driver.live_migration(ctx, inst.meta, data, progress)
            self.agent.store.update_migration(
                mig.uuid, {**_counters(final), "status": "post-migrating"}
            )
            LOG.info(
                "live migration %s of %s: %d bytes of memory, downtime %s ms",
                mig.uuid,
                inst.uuid,
                final.memory_processed,
                final.downtime_ms,
            )
        finally:
            with self._guard:
                self._running.pop(inst.uuid, None)
        return data

    def _check_aborted(self, migration_uuid: str) -> None:
        with self._guard:
            if migration_uuid in self._aborted:
                self._aborted.discard(migration_uuid)
                raise MigrationAborted(f"live migration {migration_uuid} aborted while queued")

    def _post(
        self, ctx: CallContext, inst: AgentInstance, mig: MigrationMeta, data: LiveMigrateData
    ) -> None:
        """The guest's state is on the destination: resume it there (ports bound there
        first), then clean the source and release what the migration held."""
        ours = [
            bdm.attachment_id
            for bdm in self.agent.store.block_devices(inst.uuid)
            if bdm.volume_id in data.volume_attachments and bdm.attachment_id
        ]
        self.agent.deps.agents.post_live_migration_at_destination(
            ctx, mig.dest_host, inst.uuid, mig.uuid, data
        )
        try:
            self.agent.driver.post_live_migration(ctx, inst.meta, inst.vifs, data)
        except Exception:
            LOG.exception("%s: cleaning the source after its live migration failed", inst.uuid)
        for attachment_id in ours:
            self._end_attachment(ctx, attachment_id)
        self.agent.delete_allocations(mig.uuid)

    def _rollback(
        self,
        ctx: CallContext,
        inst: AgentInstance,
        mig: MigrationMeta,
        data: LiveMigrateData,
        status: str,
    ) -> None:
        """The guest stays here: drop the destination's copy, give the allocations back."""
        try:
            self.agent.deps.agents.rollback_live_migration_at_destination(
                ctx, mig.dest_host, inst.uuid, mig.uuid, data
            )
        except Exception as exc:
            LOG.warning("%s: rollback on %s failed: %s", inst.uuid, mig.dest_host, exc)
        placement = self.agent.deps.placement
        if not placement.move_allocations(mig.uuid, inst.uuid, consumer_type="INSTANCE"):
            LOG.warning("%s: placement refused to give the allocations back", inst.uuid)
        self.agent.store.finish(
            ctx,
            inst.uuid,
            {"task_state": None, "power_state": self.agent.power_state(ctx, inst)},
            migration=(mig.uuid, status),
        )

    # -- the destination -----------------------------------------------------------------------
    def pre_live_migration(
        self, ctx: CallContext, instance_uuid: str, migration_uuid: str, data: LiveMigrateData
    ) -> LiveMigrateData:
        with self.agent.operation(
            ctx, instance_uuid, "compute_pre_live_migration", revert_task_state=False, reraise=True
        ) as ctx:
            inst = self.agent.load(instance_uuid)
            data = self._connect_volumes(ctx, inst, data)
            bdms = self.agent.store.block_devices(instance_uuid)
            try:
                return self.agent.driver.pre_live_migration(ctx, inst.meta, bdms, inst.vifs, data)
            except BaseException:
                self._end_dest_attachments(ctx, inst, data)
                raise
        raise OperationFailed(f"pre_live_migration of {instance_uuid} did not finish")

    def _connect_volumes(
        self, ctx: CallContext, inst: AgentInstance, data: LiveMigrateData
    ) -> LiveMigrateData:
        """A new attachment per volume for this host (the source keeps its own until the
        switch-over), with this host's connector: the volume service exports it here."""
        bdms = [b for b in self.agent.store.block_devices(inst.uuid) if b.volume_id]
        if not bdms:
            return data
        client = self.agent.deps.volume
        connector = self.agent.driver.get_volume_connector(ctx, inst.meta).to_dict()
        connections: dict[str, dict[str, JSON]] = {}
        attachments: dict[str, str] = {}
        try:
            for bdm in bdms:
                volume_id = bdm.volume_id or ""
                attachment = client.attachment_create(volume_id, inst.uuid, token=ctx.token)
                attachments[volume_id] = attachment.id
                updated = client.attachment_update(
                    attachment.id, connector, mountpoint=bdm.device_name, token=ctx.token
                )
                info = dict(updated.connection_info)
                info.setdefault("serial", volume_id)
                connections[volume_id] = info
        except BaseException:
            for attachment_id in attachments.values():
                self._end_attachment(ctx, attachment_id)
            raise
        return replace(data, volume_connections=connections, volume_attachments=attachments)

    def _end_attachment(self, ctx: CallContext, attachment_id: str) -> None:
        try:
            self.agent.deps.volume.attachment_delete(attachment_id, token=ctx.token)
        except ClientError as exc:
            LOG.warning("cannot end attachment %s: %s", attachment_id, exc)

    def _end_dest_attachments(
        self, ctx: CallContext, inst: AgentInstance, data: LiveMigrateData
    ) -> None:
        for attachment_id in data.volume_attachments.values():
            self._end_attachment(ctx, attachment_id)

    def post_live_migration_at_destination(
        self, ctx: CallContext, instance_uuid: str, migration_uuid: str, data: LiveMigrateData
    ) -> None:
        with self.agent.operation(
            ctx, instance_uuid, "compute_post_live_migration_at_destination", reraise=True
        ) as ctx:
            inst = self.agent.load(instance_uuid)
            mig = self.agent.store.migration(migration_uuid)
            self._bind_ports(inst, self.agent.host)
            self.agent.driver.post_live_migration_at_destination(ctx, inst.meta, inst.vifs, data)
            for bdm in self.agent.store.block_devices(instance_uuid):
                volume_id = bdm.volume_id or ""
                if volume_id in data.volume_attachments:
                    self.agent.deps.volume.attachment_complete(
                        data.volume_attachments[volume_id], token=ctx.token
                    )
                    self.agent.store.update_block_device(
                        bdm.uuid,
                        {
                            "attachment_id": data.volume_attachments[volume_id],
                            "connection_info": data.volume_connections[volume_id],
                        },
                    )
            self.agent.save(
                instance_uuid,
                {"host": self.agent.host, "node": mig.dest_node},
                expected_task_state=[T.MIGRATING],
            )
            self.agent.store.finish(
                ctx,
                instance_uuid,
                {
                    "vm_state": states.ACTIVE if inst.vm_state != states.PAUSED else inst.vm_state,
                    "task_state": None,
                    "power_state": self.agent.power_state(ctx, inst),
                },
                expected_task_state=[T.MIGRATING],
                migration=(migration_uuid, "completed"),
            )

    def rollback_live_migration_at_destination(
        self, ctx: CallContext, instance_uuid: str, migration_uuid: str, data: LiveMigrateData
    ) -> None:
        inst = self.agent.load(instance_uuid)
        try:
            self.agent.driver.rollback_live_migration_at_destination(
                ctx, inst.meta, inst.vifs, data
            )
        finally:
            self._end_dest_attachments(ctx, inst, data)

    # -- abort and force-complete (the API casts these to the source) --------------------------
    def live_migration_abort(
        self, ctx: CallContext, instance_uuid: str, migration_uuid: str
    ) -> None:
        with self._guard:
            running = self._running.get(instance_uuid) == migration_uuid
            if not running:
                self._aborted.add(migration_uuid)
        if running:
            inst = self.agent.load(instance_uuid)
            self.agent.driver.live_migration_abort(ctx, inst.meta)

    def live_migration_force_complete(
        self, ctx: CallContext, instance_uuid: str, migration_uuid: str
    ) -> None:
        with self._guard:
            running = self._running.get(instance_uuid) == migration_uuid
        if running:
            inst = self.agent.load(instance_uuid)
            self.agent.driver.live_migration_force_complete(ctx, inst.meta)

    # -- helpers -------------------------------------------------------------------------------
    def _bind_ports(self, inst: AgentInstance, host: str) -> None:
        network = self.agent.deps.network
        if not network.available():
            return
        for vif in inst.network_info or []:
            try:
                network.update_port(vif["id"], {"binding:host_id": host})
            except ClientError as exc:
                LOG.warning("cannot bind port %s to %s: %s", vif.get("id"), host, exc)


def recover(agent: AgentContext, ctx: CallContext, inst: AgentInstance) -> None:
    """After a restart of the source's agent, for an instance still ``migrating``: its
    live migrations under way end in ``error`` and the guest runs on here (the
    destination's guest never ran: only the switch-over that ends a migration resumes
    it); in the background, once placement and the destination answer (they may start
    after this agent), the allocations return to the instance and the destination drops
    what it prepared."""
    interrupted = [
        mig
        for mig in agent.store.live_migrations_under_way(inst.uuid)
        if mig.source_host == agent.host
    ]
    for mig in interrupted:
        LOG.warning("%s: live migration %s was interrupted; rolling back", inst.uuid, mig.uuid)
        agent.store.update_migration(mig.uuid, {"status": "error"})
    agent.driver.recover_instance(ctx, inst.meta, inst.power_state)
    if inst.vm_state == states.ACTIVE and agent.power_state(ctx, inst) == states.POWER_PAUSED:
        agent.driver.unpause(ctx, inst.meta)  # QEMU stopped it for the switch-over
    if interrupted:
        thread = threading.Thread(
            target=_undo_later,
            args=(agent, ctx, inst, interrupted),
            name=f"live-migration-recovery-{inst.uuid}",
            daemon=True,
        )
        thread.start()


def _undo_later(
    agent: AgentContext, ctx: CallContext, inst: AgentInstance, interrupted: list[MigrationMeta]
) -> None:
    deadline = time.monotonic() + RECOVERY_PATIENCE
    for mig in interrupted:
        while True:
            try:
                moved = agent.deps.placement.move_allocations(
                    mig.uuid, inst.uuid, consumer_type="INSTANCE"
                )
                break
            except ClientError as exc:
                if time.monotonic() > deadline:
                    LOG.warning("%s: allocations of %s stay: %s", inst.uuid, mig.uuid, exc)
                    moved = True
                    break
                time.sleep(1)
        if not moved:
            LOG.warning("%s: placement refused to give the allocations back", inst.uuid)
        try:
            agent.deps.agents.rollback_live_migration_at_destination(
                ctx, mig.dest_host, inst.uuid, mig.uuid, LiveMigrateData(incoming_uri="lost")
            )
        except Exception as exc:
            LOG.warning("%s: rollback on %s failed: %s", inst.uuid, mig.dest_host, exc)


def _counters(report: MigrationProgress) -> MigrationChanges:
    return {
        "memory_total": report.memory_total,
        "memory_processed": report.memory_processed,
        "memory_remaining": report.memory_remaining,
        "disk_total": report.disk_total,
        "disk_processed": report.disk_processed,
        "disk_remaining": report.disk_remaining,
    }
