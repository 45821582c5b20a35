"""Live migration, agent side: checks (both ends), the migration (source), preparation,
switch-over and rollback (destination), abort and force-complete (source).

The source drives it (upstream's ``_do_live_migration``): ``preparing`` while the
destination readies disks, taps and a guest waiting for the state (``pre_live_migration``,
a call); ``running`` while the driver copies memory (and disks, for a block migration)
and reports progress into the migration; ``post-migrating`` once the guest runs on the
destination: the ports are bound there, the source copy goes, the destination takes the
instance (host, node, ACTIVE, migration ``completed``), and the source allocations that
the migration consumer held are released. A failure rolls back: the destination copy
goes, the allocations return to the instance, the migration ends ``failed`` (``cancelled``
for an abort) and the guest keeps running on the source.

Ports: before the destination plugs anything their ``binding:profile`` names it in
``migrating_to`` (upstream's ``setup_networks_on_host``), so the network service sends
``network-vif-plugged`` once the destination's L2 agent has wired a tap. When the
destination asked for it (``live_migration_wait_for_vif_plug``, drivers with real taps),
the source waits for those events up to ``vif_plugging_timeout`` before the memory copy
starts; a ``failed`` event, or none in time with ``vif_plugging_is_fatal``, ends the
migration in ``error`` with the guest on the source.
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
    LIVE_UNDER_WAY,
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


class VifPlugFailed(Exception):
    """The destination's ports were not plugged (in time): the migration ends in error."""


class CopyFailed(Exception):
    """The driver could not copy the guest (its disks or memory) to the destination."""


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
        driver = self.agent.driver
        data = driver.check_can_live_migrate_destination(ctx, inst.meta, block_migration)
        # as upstream: only drivers plugging real interfaces get a network-vif-plugged
        wait = bool(self.agent.deps.opts.live_migration_wait_for_vif_plug)
        if wait and driver.capabilities.get("waits_for_vif_plugged"):
            data = replace(data, wait_for_vif_plugged=True)
        return data

    def check_can_live_migrate_source(
        self, ctx: CallContext, instance_uuid: str, data: LiveMigrateData
    ) -> LiveMigrateData:
        inst = self.agent.load(instance_uuid)
        if inst.host != self.agent.host:
            raise exception.InstanceInvalidState("live migrate", instance_uuid, "host", inst.host)
        for bdm in self.agent.store.block_devices(instance_uuid):
            info = bdm.connection_info or {}
            if bdm.volume_id and info.get("driver_volume_type") == "file":
                # the storage host's QEMU holds the file: the volume service exports a
                # volume to another host only when no QEMU opens it directly
                raise exception.MigrationPreCheckError(
                    f"volume {bdm.volume_id} is attached as a file of its storage host; "
                    "it cannot be attached to another host while it is"
                )
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
            # the source's attachments, to end once the destination has its own
            held = [b.attachment_id for b in self.agent.store.block_devices(inst.uuid)
                    if b.volume_id and b.attachment_id]  # fmt: skip
            try:
                data = self._migrate(ctx, inst, mig, data)
                self.agent.deps.agents.post_live_migration_at_destination(
                    ctx, mig.dest_host, inst.uuid, mig.uuid, data
                )
            except MigrationAborted:
                LOG.info("live migration %s of %s cancelled", migration_uuid, instance_uuid)
                data = self._prepared.pop(mig.uuid, data)
                self._rollback(ctx, inst, mig, data, "cancelled", held)
                return
            except VifPlugFailed as exc:
                LOG.warning("live migration %s of %s: %s", mig.uuid, inst.uuid, exc)
                data = self._prepared.pop(mig.uuid, data)
                self._rollback(ctx, inst, mig, data, "error", held)
                return
            except Exception as exc:
                LOG.warning("live migration %s of %s failed: %s", mig.uuid, inst.uuid, exc)
                data = self._prepared.pop(mig.uuid, data)
                # as upstream: ``error`` when the destination failed (or did not answer) to
                # prepare or to take the guest, ``failed`` when the copy failed
                status = "failed" if isinstance(exc, CopyFailed) else "error"
                if self._rollback(ctx, inst, mig, data, status, held):
                    raise OperationFailed(f"Live migration failed: {exc}") from exc
                return
            self._prepared.pop(mig.uuid, None)
            self._clean_source(ctx, inst, mig, data, held)

    def _migrate(
        self, ctx: CallContext, inst: AgentInstance, mig: MigrationMeta, data: LiveMigrateData
    ) -> LiveMigrateData:
        self._check_aborted(mig.uuid)
        self.agent.store.update_migration(mig.uuid, {"status": "preparing"})
        timeout = max(float(self.agent.deps.opts.rpc_timeout), 300.0)
        # registered before the destination plugs anything, so no event is missed
        keys = self._expect_vif_plugged(inst, data)
        try:
            data = self.agent.deps.agents.pre_live_migration(
                ctx, mig.dest_host, inst.uuid, mig.uuid, data, timeout
            )
        except BaseException:
            self.agent.waiters.cancel(keys)
            raise
        self._prepared[mig.uuid] = data
        self._wait_vif_plugged(inst, mig, keys)
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

            try:
                final = self.agent.driver.live_migration(ctx, inst.meta, data, progress)
            except MigrationAborted:
                raise
            except Exception as exc:
                raise CopyFailed(str(exc)) from exc
            self.agent.store.update_migration(mig.uuid, _counters(final))
            if not self.agent.store.advance_live_migration(mig.uuid, "post-migrating"):
                raise OperationFailed(f"live migration {mig.uuid} ended while copying")
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

    def _expect_vif_plugged(
        self, inst: AgentInstance, data: LiveMigrateData
    ) -> list[tuple[str, str]]:
        network = self.agent.deps.network
        vifs = inst.network_info or []
        timeout = int(self.agent.deps.opts.vif_plugging_timeout)
        if not (data.wait_for_vif_plugged and vifs and timeout and network.available()):
            return []
        names = []
        for vif in vifs:
            try:
                port = network.get_port(vif["id"])
            except ClientError as exc:
                LOG.warning("%s: cannot read port %s: %s", inst.uuid, vif.get("id"), exc)
                continue
            # a port no L2 agent brought up (no data plane) gets no event on the other end
            if port is not None and port.get("status") == "ACTIVE":
                names.append(f"network-vif-plugged-{vif['id']}")
        return self.agent.waiters.expect(inst.uuid, names) if names else []

    def _wait_vif_plugged(
        self, inst: AgentInstance, mig: MigrationMeta, keys: list[tuple[str, str]]
    ) -> None:
        """Upstream's wait in ``_do_live_migration`` before the memory copy starts."""
        if not keys:
            return
        opts = self.agent.deps.opts
        started = time.monotonic()
        result = self.agent.waiters.wait(keys, float(opts.vif_plugging_timeout))
        missing = [name for (_, name), status in result.items() if status is None]
        failed = [name for (_, name), status in result.items() if status == "failed"]
        if failed:
            raise VifPlugFailed(f"Virtual Interface creation failed: {', '.join(failed)}")
        if missing:
            LOG.warning(
                "%s: timed out waiting for events: %s. The networking backend on %s may not "
                "send them; live_migration_wait_for_vif_plug can be disabled there.",
                inst.uuid,
                ", ".join(missing),
                mig.dest_host,
            )
            if opts.vif_plugging_is_fatal:
                raise VifPlugFailed(f"Timed out waiting for events: {', '.join(missing)}")
            return
        LOG.info(
            "%s: the ports are plugged on %s (%.2fs)",
            inst.uuid,
            mig.dest_host,
            time.monotonic() - started,
        )

    def _check_aborted(self, migration_uuid: str) -> None:
        with self._guard:
            if migration_uuid in self._aborted:
                self._aborted.discard(migration_uuid)
                raise MigrationAborted(f"live migration {migration_uuid} aborted while queued")

    def _clean_source(
        self,
        ctx: CallContext,
        inst: AgentInstance,
        mig: MigrationMeta,
        data: LiveMigrateData,
        held: list[str],
    ) -> None:
        """The guest runs on the destination: clean the source, end its attachments
        (``held``) of the volumes the destination attached, release what the migration
        held."""
        moved = set(data.volume_attachments.values())
        ours = [a for a in held if a not in moved] if moved else []
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
        held: list[str],
    ) -> bool:
        """The guest stays here: drop the destination's copy, give the allocations back,
        resume the guest if the switch-over had paused it. False when the destination
        had taken the guest after all (its answer lost): then the source is cleaned."""
        if not self.agent.store.advance_live_migration(mig.uuid, status):
            found = self.agent.store.migration(mig.uuid)
            if self.agent.load(inst.uuid).host == mig.dest_host:
                LOG.warning("%s: %s took it after all", inst.uuid, mig.dest_host)
                self._clean_source(ctx, inst, mig, data, held)
                return False
            LOG.info("%s: live migration %s had ended (%s)", inst.uuid, mig.uuid, found.status)
        self._resume(ctx, inst, data)
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
            ctx, inst.uuid, {"task_state": None, "power_state": self.agent.power_state(ctx, inst)}
        )
        return True

    def _resume(self, ctx: CallContext, inst: AgentInstance, data: LiveMigrateData) -> None:
        """Run the guest on again if QEMU paused it for a switch-over that did not happen."""
        if inst.vm_state != states.ACTIVE or data.source.get("paused"):
            return
        try:
            if self.agent.power_state(ctx, inst) == states.POWER_PAUSED:
                self.agent.driver.unpause(ctx, inst.meta)
        except Exception:
            LOG.exception("%s: cannot resume the guest after a failed switch-over", inst.uuid)

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
            # upstream's setup_networks_on_host: the ports name this host as where they go
            self._bind_ports(inst, migrating_to=self.agent.host)
            try:
                return self.agent.driver.pre_live_migration(ctx, inst.meta, bdms, inst.vifs, data)
            except BaseException:
                self._bind_ports(inst)
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
            ctx,
            instance_uuid,
            "compute_post_live_migration_at_destination",
            revert_task_state=False,
            reraise=True,
        ) as ctx:
            inst = self.agent.load(instance_uuid)
            mig = self.agent.store.migration(migration_uuid)
            # the switch-over's one arbiter: from here the guest is this host's (or, when
            # the migration was ended first, the source's, and this copy never runs)
            if not self.agent.store.claim_live_migration(mig.uuid, self.agent.host, mig.dest_node):
                raise OperationFailed(f"live migration {mig.uuid} ended before its switch-over")
            self._bind_ports(inst, host=self.agent.host)
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
            self._bind_ports(inst)  # they stay on the source, migrating nowhere
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
    def _bind_ports(
        self, inst: AgentInstance, host: str | None = None, migrating_to: str | None = None
    ) -> None:
        """Bind the ports to ``host`` (if given), with ``migrating_to`` in their
        ``binding:profile`` (None: removed)."""
        network = self.agent.deps.network
        if not network.available():
            return
        for vif in inst.network_info or []:
            try:
                port = network.get_port(vif["id"])
                if port is None:
                    continue
                profile = dict(port.get("binding:profile") or {})
                profile.pop("migrating_to", None)
                if migrating_to:
                    profile["migrating_to"] = migrating_to
                changes: dict[str, object] = {}
                if profile != (port.get("binding:profile") or {}):
                    changes["binding:profile"] = profile
                if host and port.get("binding:host_id") != host:
                    changes["binding:host_id"] = host
                if changes:
                    network.update_port(vif["id"], changes)
            except ClientError as exc:
                LOG.warning("cannot update the binding of port %s: %s", vif.get("id"), exc)


def recover(agent: AgentContext, ctx: CallContext, inst: AgentInstance) -> None:
    """After a restart of the source's agent, for an instance still ``migrating``: its
    live migration ends in ``error`` (unless its destination had taken it at the
    switch-over, or its own restart had ended it) and the guest runs on here (the
    destination's guest never ran: only the switch-over that ends a migration resumes
    it); in the background, once placement and the destination answer (they may start
    after this agent), the allocations return to the instance and the destination drops
    what it prepared. The instance still ``migrating`` says the migration's rollback did
    not finish, whatever its status."""
    mig = agent.store.latest_live_migration(inst.uuid)
    if mig is not None and (mig.source_host != agent.host or mig.status == "completed"):
        mig = None  # none of this host's was interrupted
    if mig is not None:
        LOG.warning("%s: live migration %s was interrupted; rolling back", inst.uuid, mig.uuid)
        if not agent.store.advance_live_migration(mig.uuid, "error"):
            if agent.load(inst.uuid).host != agent.host:
                LOG.warning("%s: %s took it at the switch-over", inst.uuid, mig.dest_host)
                return
    # the driver cancels what QEMU may still be copying for the lost migration
    agent.driver.recover_instance(ctx, inst.meta, inst.power_state)
    if inst.vm_state == states.ACTIVE and agent.power_state(ctx, inst) == states.POWER_PAUSED:
        agent.driver.unpause(ctx, inst.meta)  # QEMU stopped it for the switch-over
    if mig is not None:
        thread = threading.Thread(
            target=_undo_later,
            args=(agent, ctx, inst, mig),
            name=f"live-migration-recovery-{inst.uuid}",
            daemon=True,
        )
        thread.start()


def _undo_later(
    agent: AgentContext, ctx: CallContext, inst: AgentInstance, mig: MigrationMeta
) -> None:
    deadline = time.monotonic() + RECOVERY_PATIENCE
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


def clean_up_incoming(agent: AgentContext) -> None:
    """At start-up, on a destination: the copies of guests whose live migration here was
    under way when this agent stopped, or ended without them, go. A migration still under
    way ends in ``error`` (unless its source gave the guest over at the switch-over: then
    the guest is this host's and the instance recovery resumes it); its source's agent
    rolls back when its copy fails, and gives the allocations back."""
    ctx = CallContext.internal()
    local = set(agent.driver.list_instances(ctx))
    for mig in agent.store.live_migrations_to(agent.host):
        if mig.status in LIVE_UNDER_WAY and not agent.store.advance_live_migration(
            mig.uuid, "error"
        ):
            continue  # taken here at the switch-over meanwhile
        if mig.instance_uuid not in local:
            continue
        LOG.warning("%s: dropping what live migration %s (%s) prepared here",
                    mig.instance_uuid, mig.uuid, mig.status)  # fmt: skip
        try:
            inst = agent.load(mig.instance_uuid)
            agent.driver.rollback_live_migration_at_destination(
                ctx, inst.meta, inst.vifs, LiveMigrateData(incoming_uri="lost")
            )
        except Exception:
            LOG.exception("cannot drop the live migration copy of %s", mig.instance_uuid)
