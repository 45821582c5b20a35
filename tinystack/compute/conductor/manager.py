"""The conductor's RPC endpoint."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import func, select

from tinystack.common.clients.session import ClientError
from tinystack.common.rpc import Target
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, models, rpcapi, states
from tinystack.compute.conductor.tasks.build import BuildFlow, fail_builds
from tinystack.compute.conductor.tasks.evacuate import EvacuateFlow
from tinystack.compute.conductor.tasks.live_migrate import LiveMigrationFlow
from tinystack.compute.conductor.tasks.migrate import MigrationFlow, UnshelveFlow
from tinystack.compute.objects import (
    Destinations,
    Evacuation,
    FlavorMeta,
    MoveRequest,
    RequestSpec,
)
from tinystack.compute.services import instances, ports, servers
from tinystack.compute.services.deps import Deps

LOG = logging.getLogger(__name__)


class ConductorManager:
    target = Target(rpcapi.CONDUCTOR_TOPIC, version=rpcapi.CONDUCTOR_VERSION)

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def build_instances(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuids: list[str],
        request_spec: JSON,
        host_lists: JSON = None,
        attempt: int = 1,
    ) -> None:
        """``request_spec`` a :class:`RequestSpec`, ``host_lists`` None or
        :class:`Destinations` (a retry on alternates)."""
        flow = BuildFlow(self.deps, CallContext.from_dict(ctxt))
        spec = RequestSpec.from_primitive(request_spec)
        if host_lists is None:
            flow.run(instance_uuids, spec)
        else:
            flow.retry(instance_uuids, spec, Destinations.from_primitive(host_lists), attempt)

    def migrate_server(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        move: JSON,
        new_flavor: JSON,
        migration_type: str,
    ) -> None:
        """``move`` a :class:`MoveRequest`, ``new_flavor`` None or a :class:`FlavorMeta`."""
        flavor = FlavorMeta.from_primitive(new_flavor) if new_flavor is not None else None
        MigrationFlow(self.deps, CallContext.from_dict(ctxt)).run(
            instance_uuid, MoveRequest.from_primitive(move), flavor, migration_type
        )

    def unshelve_instance(self, ctxt: rpcapi.RPCContext, instance_uuid: str, move: JSON) -> None:
        """``move`` a :class:`MoveRequest`."""
        UnshelveFlow(self.deps, CallContext.from_dict(ctxt)).run(
            instance_uuid, MoveRequest.from_primitive(move)
        )

    def evacuate_server(
        self, ctxt: rpcapi.RPCContext, instance_uuid: str, move: JSON, evacuation: JSON
    ) -> None:
        """``move`` a :class:`MoveRequest`, ``evacuation`` an :class:`Evacuation`."""
        EvacuateFlow(self.deps, CallContext.from_dict(ctxt)).run(
            instance_uuid, MoveRequest.from_primitive(move), Evacuation.from_primitive(evacuation)
        )

    def live_migrate_instance(
        self,
        ctxt: rpcapi.RPCContext,
        instance_uuid: str,
        host: str | None,
        block_migration: bool | None,
        force: bool = False,
    ) -> str:
        """Why the live migration could not start ("" when it did); ``force`` (2.30-2.67)
        still has the scheduler verify and claim the asked host."""
        return LiveMigrationFlow(self.deps, CallContext.from_dict(ctxt)).run(
            instance_uuid, host, block_migration
        )

    # -- start-up recovery ---------------------------------------------------------------------
    def recover(self, older_than: float) -> int:
        """Fail builds that never reached a host (their conductor died) and finish deletes
        of instances without a host (the API process died in ``local_delete``), those
        older than ``older_than`` seconds; release what deleted instances still hold in
        placement and the network; returns how many."""
        cutoff = utcnow() - timedelta(seconds=older_than)
        orphaned = (
            models.Instance.deleted.is_(False),
            models.Instance.host.is_(None),
            func.coalesce(models.Instance.updated_at, models.Instance.created_at) <= cutoff,
        )
        with self.deps.db.reader() as session:
            deleting = list(session.scalars(select(models.Instance.uuid).where(
                *orphaned, models.Instance.task_state == states.Task.DELETING)))  # fmt: skip
            stuck = list(session.scalars(select(models.Instance.uuid).where(
                *orphaned, models.Instance.vm_state == states.BUILDING,
                models.Instance.task_state.is_distinct_from(states.Task.DELETING))))  # fmt: skip
        ctx = CallContext.internal()
        for uuid in deleting:
            LOG.warning("finishing the delete of %s, interrupted by a restart", uuid)
            try:
                servers.local_delete(self.deps, ctx, instances.get(self.deps.db, uuid))
            except exception.InstanceNotFound:
                continue
        if stuck:
            LOG.warning("failing %d build(s) interrupted by a restart", len(stuck))
            error = exception.NoValidHost(
                "The compute service restarted while the instance was being scheduled."
            )
            fail_builds(
                self.deps,
                ctx,
                stuck,
                error,
                event="conductor_schedule_and_build_instances",
            )
        released = self._release_deleted_allocations() + self._release_deleted_ports()
        return len(stuck) + len(deleting) + released

    def _release_deleted_ports(self) -> int:
        """Release the ports compute bound to instances that are deleted (a build that
        bound a port after its instance's delete had listed the ports, killed before it
        saw the delete): nothing else will ever release them."""
        if not self.deps.network.available():
            return 0
        try:
            listed = self.deps.network.list_ports(fields=["id", "device_id", "device_owner"])
        except ClientError as exc:
            LOG.debug("cannot list the ports: %s", exc)
            return 0
        owners = {str(p["device_id"]) for p in listed
                  if str(p.get("device_owner") or "").startswith("compute:")}  # fmt: skip
        if not owners:
            return 0
        with self.deps.db.reader() as session:
            gone = list(session.scalars(select(models.Instance.uuid).where(
                models.Instance.uuid.in_(owners), models.Instance.deleted.is_(True))))  # fmt: skip
        ctx = CallContext.internal()
        for uuid in gone:
            LOG.warning("releasing the ports of deleted instance %s", uuid)
            try:
                record = instances.get(self.deps.db, uuid, read_deleted=True)
                ports.deallocate_for(self.deps.network, ctx, record)
            except (ClientError, exception.InstanceNotFound) as exc:
                LOG.warning("cannot release the ports of %s: %s", uuid, exc)
        return len(gone)

    def _release_deleted_allocations(self) -> int:
        """Remove the allocations on this cloud's compute nodes held by deleted instances
        (a process that claimed them for a build was killed before it saw the delete; a
        delete that could not reach placement), whatever their age, as upstream's
        resource tracker does for its node: nothing else will ever release them."""
        with self.deps.db.reader() as session:
            nodes = list(session.scalars(select(models.ComputeNode.uuid)))
        held: set[str] = set()
        for node in nodes:
            try:
                held |= set(self.deps.placement.consumers_of(node))
            except ClientError as exc:
                LOG.debug("cannot read the allocations on %s: %s", node, exc)
        if not held:
            return 0
        with self.deps.db.reader() as session:
            gone = list(session.scalars(select(models.Instance.uuid).where(
                models.Instance.uuid.in_(held), models.Instance.deleted.is_(True))))  # fmt: skip
        for uuid in gone:
            LOG.warning("removing the allocations of deleted instance %s", uuid)
            try:
                self.deps.placement.delete_allocations(uuid)
            except ClientError as exc:
                LOG.warning("cannot remove the allocations of %s: %s", uuid, exc)
        return len(gone)
