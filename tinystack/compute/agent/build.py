"""Build and delete: the agent side of server create and server delete."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from tinystack.common.clients.session import ClientError
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, states
from tinystack.compute.agent.context import AgentContext
from tinystack.compute.agent.notifications import notify_usage
from tinystack.compute.agent.store import AgentStore
from tinystack.compute.agent.volumes import VolumeOps
from tinystack.compute.objects import (
    AgentInstance,
    Destinations,
    EventEnd,
    HostList,
    InstanceChanges,
    RequestSpec,
    ScheduledEvent,
)
from tinystack.compute.virt.driver import DriverError

LOG = logging.getLogger(__name__)
BUILD_EVENT = "compute__do_build_and_run_instance"
T = states.Task


class BuildAborted(Exception):
    """The instance was deleted (or otherwise taken away) while it was being built."""


class BuildOps:
    """Build and delete."""

    def __init__(self, agent: AgentContext, volumes: VolumeOps) -> None:
        self.agent = agent
        self.volumes = volumes

    def build_and_run_instance(
        self,
        ctx: CallContext,
        instance_uuid: str,
        request_spec: RequestSpec,
        host_list: HostList,
        attempt: int = 1,
        node: str | None = None,
        scheduled: ScheduledEvent | None = None,
    ) -> None:
        """Build on this host; on failure, hand the build back for ``host_list``'s alternates."""
        started = utcnow()
        with self.agent.locks.hold(instance_uuid):
            try:
                self._build(ctx, instance_uuid, request_spec, node, scheduled, started)
            except BuildAborted:
                LOG.info("build of %s aborted: the instance is being deleted", instance_uuid)
                self._cleanup_build(ctx, instance_uuid, delete_allocations=True)
            except Exception as exc:
                LOG.warning("build of %s failed on %s: %s", instance_uuid, self.agent.host, exc)
                self._cleanup_build(ctx, instance_uuid, delete_allocations=True)
                self._after_failure(
                    ctx, instance_uuid, request_spec, host_list, attempt, exc, started
                )
            finally:
                self.agent.deps.changed(instance_uuid)

    def _assign(
        self,
        ctx: CallContext,
        uuid: str,
        node: str | None,
        scheduled: ScheduledEvent | None,
        task_state: str,
    ) -> AgentInstance:
        """First write of a build: this host, the scheduler's event, the next task state."""
        zone = self.agent.zone()
        try:
            return self.agent.store.claim_build(
                ctx,
                uuid,
                host=self.agent.host,
                node=node or self.agent.host,
                zone=zone,
                task_state=task_state,
                scheduled=scheduled,
            )
        except (exception.InstanceNotFound, exception.UnexpectedTaskState) as exc:
            raise BuildAborted() from exc

    def _build(
        self,
        ctx: CallContext,
        uuid: str,
        spec: RequestSpec,
        node: str | None,
        scheduled: ScheduledEvent | None,
        started: datetime,
    ) -> None:
        store = self.agent.store
        needs_ports = store.wants_ports(spec.networks())
        first = T.NETWORKING if needs_ports else T.SPAWNING
        inst = self._assign(ctx, uuid, node, scheduled, first)
        vifs: list[dict[str, Any]] = []
        if needs_ports:
            try:
                vifs = store.allocate_ports(ctx, inst, self.agent.host)
                inst = self.agent.save(
                    uuid,
                    {"task_state": T.SPAWNING, "network_info": vifs},
                    expected_task_state=[T.NETWORKING],
                )
            except (exception.InstanceNotFound, exception.UnexpectedTaskState) as exc:
                store.release_ports(ctx, vifs)
                raise BuildAborted() from exc
        block_devices = self.volumes.prepare_boot(ctx, inst)
        keys = self._expect_plugging(uuid, vifs)
        self.agent.driver.spawn(ctx, inst.meta, inst.vifs, None, block_devices)
        self._wait_plugging(uuid, keys)
        power = self.agent.power_state(ctx, inst)

        try:
            store.finish(
                ctx,
                uuid,
                {
                    "vm_state": states.ACTIVE,
                    "task_state": None,
                    "power_state": power,
                    "launched_at": utcnow(),
                    "progress": 0,
                },
                expected_task_state=[T.SPAWNING],
                event=EventEnd(BUILD_EVENT, self.agent.host, started, finish_action=True),
            )
        except (exception.InstanceNotFound, exception.UnexpectedTaskState) as exc:
            raise BuildAborted() from exc
        notify_usage(self.agent, ctx, uuid, "create.end")

    def _expect_plugging(self, uuid: str, vifs: list[dict[str, Any]]) -> list[tuple[str, str]]:
        if not vifs or not int(self.agent.deps.opts.vif_plugging_timeout):
            return []
        if not self.agent.driver.capabilities.get("waits_for_vif_plugged"):
            return []  # as upstream: only drivers that plug real interfaces wait
        waiting = [f"network-vif-plugged-{v['id']}" for v in vifs if not v.get("active")]
        return self.agent.waiters.expect(uuid, waiting) if waiting else []

    def _wait_plugging(self, uuid: str, keys: list[tuple[str, str]]) -> None:
        if not keys:
            return
        result = self.agent.waiters.wait(keys, float(self.agent.deps.opts.vif_plugging_timeout))
        missing = [name for (_, name), status in result.items() if status is None]
        failed = [name for (_, name), status in result.items() if status == "failed"]
        if failed or (missing and self.agent.deps.opts.vif_plugging_is_fatal):
            raise exception.RescheduledBuild(
                f"Virtual Interface creation failed: {', '.join(failed or missing)}"
            )
        if missing:
            LOG.warning("%s: no %s in time; carrying on", uuid, ", ".join(missing))

    def _cleanup_build(self, ctx: CallContext, uuid: str, *, delete_allocations: bool) -> None:
        try:
            inst = self.agent.load(uuid, read_deleted=True)
        except exception.InstanceNotFound:
            return
        try:
            self.agent.driver.destroy(ctx, inst.meta, inst.vifs)
        except Exception:
            LOG.exception("cannot clean up the failed build of %s", uuid)
        try:
            self.volumes.release_connections(ctx, inst)
        except Exception:
            LOG.exception("cannot release the volume connections of %s", uuid)
        self.agent.store.release_instance_ports(ctx, inst)
        if delete_allocations:
            self.agent.delete_allocations(uuid)

    def _after_failure(
        self,
        ctx: CallContext,
        uuid: str,
        spec: RequestSpec,
        host_list: HostList,
        attempt: int,
        error: Exception,
        started: datetime,
    ) -> None:
        retry = (
            bool(host_list.selections)
            and attempt < int(self.agent.deps.opts.max_attempts)
            and isinstance(error, DriverError | exception.RescheduledBuild | ClientError)
        )

        updates: InstanceChanges = {"network_info": []}
        if retry:
            updates.update({"host": None, "node": None, "task_state": T.SCHEDULING})
        else:
            updates.update({"vm_state": states.ERROR, "task_state": None})
        self.agent.store.record_fault(
            uuid,
            error,
            host=self.agent.host,
            changes=updates,
            ctx=ctx,
            event=EventEnd(
                BUILD_EVENT, self.agent.host, started, error=error, finish_action=not retry
            ),
        )
        if retry:
            self.agent.deps.conductor.build_instances(
                ctx, [uuid], spec, Destinations((host_list,)), attempt + 1
            )

    # -- delete --------------------------------------------------------------------------------
    def terminate_instance(self, ctx: CallContext, instance_uuid: str) -> None:
        with self.agent.operation(ctx, instance_uuid, "compute_terminate_instance") as ctx:
            inst = self.agent.load(instance_uuid)
            self.agent.driver.destroy(ctx, inst.meta, inst.vifs)
            try:
                self.agent.store.release_instance_ports(ctx, inst, strict=True)
            except ClientError:
                # as upstream's _try_deallocate_network: the delete fails, the server
                # goes to ERROR (with the fault) and keeps its ports for a retry
                self.agent.save(instance_uuid, {"vm_state": states.ERROR})
                raise
            self.agent.store.release_volumes(ctx, instance_uuid)
            self.agent.delete_allocations(instance_uuid)
            mark_deleted(self.agent.store, ctx, instance_uuid)
            notify_usage(self.agent, ctx, instance_uuid, "delete.end")


def mark_deleted(store: AgentStore, ctx: CallContext, uuid: str) -> None:
    """Soft-delete the row, as upstream: it stays readable for actions and changes-since."""
    now = utcnow()
    store.finish(
        ctx,
        uuid,
        {
            "vm_state": states.DELETED,
            "task_state": None,
            "power_state": states.NOSTATE,
            "terminated_at": now,
            "deleted_at": now,
            "deleted": True,
        },
    )
