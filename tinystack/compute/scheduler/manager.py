"""The scheduler's RPC endpoint: pick hosts, claim them in placement, return alternates."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter, deque
from dataclasses import replace
from typing import Any

from sqlalchemy import select

from tinystack.common.clients.session import ClientError
from tinystack.common.rpc import Target
from tinystack.common.rpc.payload import JSON
from tinystack.compute import exception, models, rpcapi
from tinystack.compute.objects import Destination, Destinations, HostList, RequestSpec, Selection
from tinystack.compute.scheduler import filters as filter_plugins
from tinystack.compute.scheduler import request_spec
from tinystack.compute.scheduler import weights as weight_plugins
from tinystack.compute.scheduler.filters.same_host import RESOLVED
from tinystack.compute.scheduler.host_state import HostCache, HostState
from tinystack.compute.services import server_groups
from tinystack.compute.services.deps import Deps

LOG = logging.getLogger(__name__)


class _Truncated(Exception):
    """Placement's candidate list was cut short and did not hold a fitting host."""


class SchedulerManager:
    target = Target(rpcapi.SCHEDULER_TOPIC, version=rpcapi.SCHEDULER_VERSION)

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        opts = deps.opts
        self.hosts = HostCache(deps.db, opts)
        self.filters = filter_plugins.load(list(opts.scheduler_enabled_filters))
        self.weighers = weight_plugins.load(list(opts.scheduler_weighers), opts)
        #: recent decision times in milliseconds (for logs and benchmarks)
        self.timings: deque[float] = deque(maxlen=10000)
        self._timing_lock = threading.Lock()

    # -- RPC -----------------------------------------------------------------------------------
    def select_destinations(
        self,
        ctxt: rpcapi.RPCContext,
        request_spec: JSON,
        instance_uuids: list[str],
        claim: bool = True,
    ) -> JSON:
        """A :class:`Destinations` for a :class:`RequestSpec` (both as primitives)."""
        started = time.perf_counter()
        spec = RequestSpec.from_primitive(request_spec)
        try:
            result = Destinations(tuple(self._select(spec, instance_uuids, claim)))
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            with self._timing_lock:
                self.timings.append(elapsed)
            LOG.debug("scheduled %d instance(s) in %.1f ms", len(instance_uuids), elapsed)
        return result.to_primitive()

    # -- the algorithm -------------------------------------------------------------------------
    def _select(self, spec: RequestSpec, instance_uuids: list[str], claim: bool) -> list[HostList]:
        """Pick hosts among ``max_placement_results`` candidates; if that is not enough and
        placement had more, look again among ten times as many (up to 10,000)."""
        limit = int(self.deps.opts.max_placement_results)
        while True:
            try:
                return self._select_among(spec, instance_uuids, claim, limit)
            except _Truncated:
                limit *= 10

    def _select_among(
        self, spec: RequestSpec, instance_uuids: list[str], claim: bool, limit: int
    ) -> list[HostList]:
        hosts, truncated = self._candidates(spec, limit)
        widen = truncated and limit < 10000
        if not hosts:
            LOG.info("no allocation candidates for %s", request_spec.resources(spec))
            raise exception.NoValidHost("There are not enough hosts available.")
        spec = self._prepare_hints(spec, instance_uuids, hosts)
        forced = bool(spec.force_hosts or spec.force_nodes)
        resources = request_spec.resources(spec)
        max_attempts = int(self.deps.opts.max_attempts)
        results: list[HostList] = []
        claimed: list[str] = []
        try:
            for uuid in instance_uuids:
                passing = (
                    hosts if forced else [h for h in hosts if self._passes(h, spec, resources)]
                )
                ordered = self._order(passing, spec)
                chosen = self._claim_first(uuid, ordered, spec, claim, hosts)
                if chosen is None:
                    self._explain(hosts, spec, resources)
                    if widen:
                        raise _Truncated()
                    raise exception.NoValidHost("There are not enough hosts available.")
                claimed.append(uuid)
                chosen.consume(resources)
                spec = self._note_member(spec, chosen)
                alternates = [h for h in ordered if h is not chosen and h in hosts]
                alternates = alternates[: max_attempts - 1]
                results.append(HostList((_selection(chosen), *(_selection(a) for a in alternates))))
        except (exception.NoValidHost, _Truncated):
            if claim:
                for uuid in claimed:
                    self._unclaim(uuid)
            raise
        return results

    def _candidates(self, spec: RequestSpec, limit: int) -> tuple[list[HostState], bool]:
        """The candidate hosts, and whether placement may have had more than ``limit``."""
        resources = request_spec.resources(spec)
        member_of: list[str] = []
        if spec.availability_zone:
            default = spec.availability_zone == self.deps.opts.default_availability_zone
            aggregates = self.hosts.aggregates_in_zone(
                spec.availability_zone, reload_on_miss=not default
            )
            if aggregates:
                member_of.append("in:" + ",".join(sorted(aggregates)))
            elif spec.availability_zone != self.deps.opts.default_availability_zone:
                return [], False
        in_tree = self._destination_node(spec)
        if in_tree == "":
            return [], False
        try:
            found = self.deps.placement.allocation_candidates(
                resources,
                required=request_spec.traits(spec),
                member_of=member_of,
                in_tree=in_tree,
                limit=limit,
            )
        except ClientError as exc:
            LOG.warning("placement refused allocation candidates: %s", exc)
            raise exception.NoValidHost(f"Placement: {exc.message}") from exc
        hosts = []
        ignored = set(spec.ignore_hosts)
        for request in found.allocation_requests:
            providers = list(request.get("allocations", {}))
            facts = None
            for provider in providers:
                facts = self.hosts.node(provider)
                if facts is not None:
                    break
            if facts is None or facts.host in ignored:
                continue
            summary = found.provider_summaries.get(facts.uuid, {}).get("resources", {})
            hosts.append(
                HostState(
                    facts=facts,
                    allocation_request=request,
                    capacity={rc: int(v.get("capacity", 0)) for rc, v in summary.items()},
                    used={rc: int(v.get("used", 0)) for rc, v in summary.items()},
                )
            )
        if spec.force_nodes:
            hosts = [h for h in hosts if h.facts.nodename in spec.force_nodes]
        elif spec.force_hosts:
            hosts = [h for h in hosts if h.host in spec.force_hosts]
        return hosts, len(found.allocation_requests) >= limit

    def _destination_node(self, spec: RequestSpec) -> str | None:
        """The node to restrict candidates to ("" when the asked host does not exist)."""
        dest = spec.requested_destination or Destination()
        host = dest.host or (spec.force_hosts[0] if spec.force_hosts else None)
        node = dest.node or (spec.force_nodes[0] if spec.force_nodes else None)
        if not host and not node:
            return None
        if host:
            nodes = self.hosts.nodes_of(host)
            if not nodes:
                return ""
            if node:
                matching = [u for u in nodes if (f := self.hosts.node(u)) and f.nodename == node]
                return matching[0] if matching else ""
            return nodes[0]
        return None

    def _prepare_hints(
        self, spec: RequestSpec, instance_uuids: list[str], hosts: list[HostState]
    ) -> RequestSpec:
        """The spec with its group's member hosts and its host hints' hosts resolved."""
        group = spec.group
        if group:
            members = server_groups.member_hosts(self.deps.db, group.uuid, exclude=instance_uuids)
            group = replace(group, hosts=tuple(sorted(set(members))))
            counts = Counter(members)
            for host in hosts:
                host.group_members = counts.get(host.host, 0)
        resolved: dict[str, JSON] = {}
        for hint in ("same_host", "different_host"):
            uuids = spec.hint_list(hint)
            if uuids:
                resolved[hint] = list(self._hosts_of(uuids))
        hints = {**spec.scheduler_hints, RESOLVED: resolved}
        return replace(spec, group=group, scheduler_hints=hints)

    def _hosts_of(self, uuids: list[str]) -> list[str]:
        with self.deps.db.reader() as session:
            rows = session.scalars(
                select(models.Instance.host).where(
                    models.Instance.uuid.in_(uuids), models.Instance.deleted.is_(False)
                )
            )
            return [h for h in rows if h]

    def _note_member(self, spec: RequestSpec, chosen: HostState) -> RequestSpec:
        group = spec.group
        if not group:
            return spec
        chosen.group_members += 1
        if chosen.host in group.hosts:
            return spec
        return replace(spec, group=replace(group, hosts=(*group.hosts, chosen.host)))

    def _passes(self, host: HostState, spec: RequestSpec, resources: dict[str, int]) -> bool:
        if any(host.free(rc) < amount for rc, amount in resources.items() if rc in host.capacity):
            return False
        return all(f.host_passes(host, spec) for f in self.filters)

    def _explain(
        self, hosts: list[HostState], spec: RequestSpec, resources: dict[str, int]
    ) -> None:
        """Log which filter removed which hosts (as upstream's filter logging)."""
        remaining = [
            h
            for h in hosts
            if not any(h.free(rc) < n for rc, n in resources.items() if rc in h.capacity)
        ]
        LOG.info("%d candidate(s), %d with room", len(hosts), len(remaining))
        for f in self.filters:
            before = len(remaining)
            remaining = [h for h in remaining if f.host_passes(h, spec)]
            if len(remaining) < before:
                LOG.info("filter %s removed %d host(s)", f.name, before - len(remaining))

    def _order(self, hosts: list[HostState], spec: RequestSpec) -> list[HostState]:
        weight_plugins.weigh(self.weighers, hosts, spec)
        ordered = sorted(hosts, key=lambda h: h.weight, reverse=True)
        subset = int(self.deps.opts.host_subset_size)
        if subset > 1 and len(ordered) > 1:
            head = ordered[:subset]
            random.shuffle(head)
            ordered = head + ordered[subset:]
        return ordered

    def _claim_first(
        self,
        uuid: str,
        ordered: list[HostState],
        spec: RequestSpec,
        claim: bool,
        hosts: list[HostState],
    ) -> HostState | None:
        for host in ordered:
            if not claim or self._claim(uuid, host, spec):
                return host
            hosts.remove(host)  # its capacity went to someone else
        return None

    def _claim(self, uuid: str, host: HostState, spec: RequestSpec) -> bool:
        placement = self.deps.placement
        allocations = host.allocation_request.get("allocations", {})
        kwargs: dict[str, Any] = {"project_id": spec.project_id, "user_id": spec.user_id}
        try:
            if placement.claim(uuid, allocations, **kwargs):
                return True
            current = placement.get_allocations(uuid)
            generation = current.get("consumer_generation")
            if generation is None or current.get("allocations"):
                return False
            return placement.claim(uuid, allocations, consumer_generation=generation, **kwargs)
        except ClientError as exc:
            LOG.warning("claim of %s on %s failed: %s", uuid, host.host, exc)
            return False

    def _unclaim(self, uuid: str) -> None:
        try:
            self.deps.placement.delete_allocations(uuid)
        except ClientError as exc:
            LOG.warning("cannot remove the allocations of %s: %s", uuid, exc)


def _selection(host: HostState) -> Selection:
    return Selection(
        host=host.host,
        nodename=host.facts.nodename,
        compute_node_uuid=host.uuid,
        allocations=dict(host.allocation_request.get("allocations", {})),
    )
