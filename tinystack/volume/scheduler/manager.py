"""The volume scheduler's RPC endpoint: places new volumes on pools, checks extends and
retypes against the volume's backend, and re-schedules creates a restart interrupted."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from tinystack.common.rpc import Target
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.volume import rpcapi
from tinystack.volume.payloads import ExtendSpec, GroupSpec, MigrateSpec, RetypeSpec, VolumeSpec
from tinystack.volume.scheduler import filters
from tinystack.volume.services import (
    groups,
    messages,
    migration,
    scheduling,
    volume_ops,
    volume_types,
    volumes,
    workers,
)
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.scheduling import PoolState

LOG = logging.getLogger(__name__)


class SchedulerManager:
    target = Target(rpcapi.SCHEDULER_TOPIC, version=rpcapi.SCHEDULER_VERSION)

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        opts = deps.opts
        self.filters = [name for name in opts.scheduler_default_filters if name in filters.FILTERS]
        unknown = set(opts.scheduler_default_filters) - set(filters.FILTERS)
        if unknown:
            raise ValueError(f"[volume] scheduler_default_filters: unknown {sorted(unknown)}")
        self.multiplier = float(opts.capacity_weight_multiplier)

    # -- RPC ----------------------------------------------------------------------------------
    def create_volume(self, ctxt: rpcapi.RPCContext, spec: JSON) -> None:
        """Choose a pool for the volume and hand it to that backend's manager."""
        ctx = CallContext.from_dict(ctxt)
        self.schedule(ctx, VolumeSpec.from_primitive(spec))

    def extend_volume(self, ctxt: rpcapi.RPCContext, host: str, spec: JSON) -> None:
        ctx = CallContext.from_dict(ctxt)
        extend = ExtendSpec.from_primitive(spec)
        opts = self.deps.opts

        def fits(pool: PoolState, delta: int) -> bool:
            request = filters.Request(delta, None, {})
            return filters.capacity_filter(pool, request)

        if scheduling.extend_fits(self.deps.db, opts, extend.volume_id, extend.new_size, fits):
            self.deps.volumes.extend_volume(ctx, host, extend)
            return
        LOG.info("volume %s: no room on %s to extend to %d GiB", extend.volume_id, host,
                 extend.new_size)  # fmt: skip
        volume_ops.mark_failed(
            self.deps.db,
            extend.volume_id,
            status="in-use" if extend.attached else "available",
            action=messages.EXTEND_VOLUME,
            detail=messages.NO_BACKEND_AVAILABLE,
            request_id=ctx.request_id,
            ttl=int(opts.message_ttl),
            reservations=extend.reservations,
        )
        self.deps.changed(extend.volume_id)

    def retype(self, ctxt: rpcapi.RPCContext, host: str, spec: JSON) -> None:
        """On the volume's pool when it satisfies the new type's extra specs; else, with
        migration policy ``on-demand``, migrated to the best pool that does."""
        ctx = CallContext.from_dict(ctxt)
        retype = RetypeSpec.from_primitive(spec)
        new_type = volume_types.get_record(self.deps.db, retype.new_type_id)
        pools = {pool.name: pool for pool in scheduling.all_pools(self.deps.db)}
        pool = pools.get(host)
        specs = dict(new_type.extra_specs) if new_type else {}
        request = filters.Request(0, None, specs)
        if pool is not None and filters.capabilities_filter(pool, request):
            self.deps.volumes.retype(ctx, host, retype)
            return
        if retype.migration_policy == "on-demand" and self._migrate(ctx, host, retype, specs):
            return
        LOG.info("volume %s: its backend does not satisfy type %s", retype.volume_id,
                 retype.new_type_id)  # fmt: skip
        volume_ops.mark_failed(
            self.deps.db,
            retype.volume_id,
            status=retype.previous_status,
            action=messages.SCHEDULE_ALLOCATE_VOLUME,
            detail=messages.NO_BACKEND_AVAILABLE,
            request_id=ctx.request_id,
            ttl=int(self.deps.opts.message_ttl),
            reservations=retype.reservations,
        )
        self.deps.changed(retype.volume_id)

    def _migrate(
        self, ctx: CallContext, host: str, retype: RetypeSpec, specs: dict[str, str]
    ) -> bool:
        """Start the migration to the best other backend for the new type (its extra
        ``specs``; False: none, or the volume cannot move: attached, with snapshots, in a
        group)."""
        volume = volumes.spec_of(self.deps.db, retype.volume_id)
        if volume is None:
            return False
        request = filters.Request(volume.size, volume.availability_zone, specs)
        source = rpcapi.backend_of(host)
        with self.deps.db.reader() as session:
            pools = [p for p in scheduling.pool_states(session, self.deps.opts)
                     if p.backend != source]  # fmt: skip
        dest = filters.choose(pools, request, self.filters, self.multiplier)
        if dest is None:
            return False
        spec = MigrateSpec(retype.volume_id, host, dest.name, retype.new_type_id,
                           retype.reservations, retype.previous_status)  # fmt: skip
        if not migration.begin_retype(self.deps.db, spec):
            LOG.info("volume %s: cannot be migrated for its retype", retype.volume_id)
            return False
        LOG.info("volume %s: retype migrates it from %s to %s", retype.volume_id, host,
                 dest.name)  # fmt: skip
        self.deps.changed(retype.volume_id)
        self.deps.volumes.migrate_volume(ctx, spec)
        return True

    def create_group(self, ctxt: rpcapi.RPCContext, spec: JSON) -> None:
        """A generic group's backend: one that can host every volume type of the group."""
        group = GroupSpec.from_primitive(spec)
        zone = group.availability_zone
        requests = [filters.Request(0, zone, dict(specs)) for specs in group.type_specs]
        requests = requests or [filters.Request(0, zone, {})]

        def pick(pools: list[PoolState]) -> PoolState | None:
            fitting = [
                p for p in pools
                if all(filters.availability_zone_filter(p, r) and filters.capabilities_filter(p, r)
                       for r in requests)
            ]  # fmt: skip
            return max(fitting, key=filters.capacity_weight) if fitting else None

        scheduling.place_group(self.deps.db, self.deps.opts, group.group_id, pick)
        self.deps.changed(group.group_id)

    # -- work ---------------------------------------------------------------------------------
    def schedule(self, ctx: CallContext, spec: VolumeSpec) -> None:
        request = filters.request_of(spec)

        def pick(pools: list[PoolState]) -> PoolState | None:
            return filters.choose(pools, request, self.filters, self.multiplier)

        started = time.perf_counter()
        placement = scheduling.place(
            self.deps.db, self.deps.opts, spec.volume_id, pick, ctx.request_id
        )
        LOG.debug("volume %s scheduled to %s in %.1f ms", spec.volume_id, placement.host,
                  (time.perf_counter() - started) * 1000)  # fmt: skip
        if placement.skipped:
            return
        if placement.host is None:
            LOG.info("volume %s: no valid backend", spec.volume_id)
            self.deps.changed(spec.volume_id)
            return
        self.deps.volumes.create_volume(ctx, replace(spec, host=placement.host))

    def recover(self, older_than: float | None = None) -> int:
        """Schedule again the creates that never reached a backend: at start, every one (a
        crash between the API's commit and the scheduler's decision); while running,
        those waiting ``older_than`` seconds (their message or the decision's transaction
        was lost to a broker or database fault). Placing is idempotent: a volume already
        placed, or no longer ``creating``, is skipped."""
        count = 0
        for op in workers.pending(self.deps.db, None, older_than):
            if op.operation != "schedule":
                continue
            if older_than is not None:
                LOG.warning("%s %s: waiting to be scheduled for over %d s: scheduling it again",
                            op.resource_type, op.resource_id, older_than)  # fmt: skip
            try:
                count += self._schedule_again(op)
            except Exception:
                LOG.exception("%s %s: cannot schedule it again", op.resource_type,
                              op.resource_id)  # fmt: skip
        return count

    def _schedule_again(self, op: workers.Operation) -> int:
        if op.resource_type == "Group":
            group = groups.spec_of(self.deps.db, op.resource_id)
            if group is None:
                volume_ops.forget_operation(self.deps.db, "Group", op.resource_id)
                return 0
            self.create_group(CallContext.internal().to_dict(), group.to_primitive())
            return 1
        if op.resource_type != "Volume":
            return 0
        spec = volumes.spec_of(self.deps.db, op.resource_id)
        if spec is None:
            volume_ops.forget_operation(self.deps.db, "Volume", op.resource_id)
            return 0
        self.schedule(CallContext.internal(), spec)
        return 1
