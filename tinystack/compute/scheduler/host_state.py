"""The scheduler's view of hosts: database facts (cached briefly) plus placement's summaries."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.compute import models
from tinystack.compute.conf import Options


@dataclass
class NodeFacts:
    """What the database says about one compute node and its service."""

    uuid: str
    host: str
    nodename: str
    disabled: bool
    up: bool
    availability_zone: str
    aggregates: list[dict[str, str]]
    hypervisor_type: str
    hypervisor_version: int
    supported_instances: list[list[str]]
    cpu_info: dict[str, Any]


@dataclass
class HostState:
    """One candidate host: facts, free resources, and its allocation request."""

    facts: NodeFacts
    allocation_request: dict[str, Any]
    capacity: dict[str, int] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)
    #: members of the request's server group on this host
    group_members: int = 0
    weight: float = 0.0

    @property
    def host(self) -> str:
        return self.facts.host

    @property
    def uuid(self) -> str:
        return self.facts.uuid

    def free(self, rc: str) -> int:
        return self.capacity.get(rc, 0) - self.used.get(rc, 0)

    def consume(self, resources: dict[str, int]) -> None:
        for rc, amount in resources.items():
            self.used[rc] = self.used.get(rc, 0) + amount


class HostCache:
    """Compute nodes, services and aggregates, re-read at most every ``ttl`` seconds."""

    def __init__(self, db: Database, opts: Options) -> None:
        self.db = db
        self.opts = opts
        self._lock = threading.Lock()
        self._loaded = 0.0
        self._nodes: dict[str, NodeFacts] = {}
        self._by_host: dict[str, list[str]] = {}
        self._az_aggregates: dict[str, list[str]] = {}
        self._load_lock = threading.Lock()
        self._forced = 0.0

    def invalidate(self) -> None:
        with self._lock:
            self._loaded = 0.0

    def _refresh(self, force: bool = False, throttle: bool = True) -> None:
        """Reload when stale, without blocking schedulers that have a view already.

        A stale view is replaced by whichever thread gets the load lock first; the
        others keep using the previous view meanwhile. An empty view (or a forced
        reload, for a host registered since) waits for the load.
        """
        now = time.monotonic()
        stale = now - self._loaded >= float(self.opts.host_cache_seconds)
        if force:
            if throttle and now - self._forced < 0.5:
                return
            self._forced = now
        elif not stale:
            return
        must_wait = force or not self._nodes
        if not self._load_lock.acquire(blocking=must_wait):
            return
        try:
            if not force and time.monotonic() - self._loaded < float(self.opts.host_cache_seconds):
                return  # another thread reloaded while we waited
            nodes, az_aggs = self._load()
            by_host: dict[str, list[str]] = defaultdict(list)
            for node in nodes.values():
                by_host[node.host].append(node.uuid)
            with self._lock:
                self._nodes = nodes
                self._by_host = dict(by_host)
                self._az_aggregates = az_aggs
                self._loaded = time.monotonic()
        finally:
            self._load_lock.release()

    def _load(self) -> tuple[dict[str, NodeFacts], dict[str, list[str]]]:
        down_after = timedelta(seconds=int(self.opts.service_down_time))
        now = utcnow()
        default_az = self.opts.default_availability_zone
        with self.db.reader() as session:
            metadata: dict[int, dict[str, str]] = defaultdict(dict)
            for row in session.scalars(select(models.AggregateMetadata)):
                metadata[row.aggregate_id][row.key] = row.value
            aggregates = {a.id: a for a in session.scalars(select(models.Aggregate))}
            host_aggs: dict[str, list[dict[str, str]]] = defaultdict(list)
            for member in session.scalars(select(models.AggregateHost)):
                host_aggs[member.host].append(metadata.get(member.aggregate_id, {}))
            rows = session.execute(
                select(models.ComputeNode, models.Service).join(
                    models.Service, models.Service.id == models.ComputeNode.service_id
                )
            ).all()
        az_aggregates: dict[str, list[str]] = defaultdict(list)
        for agg_id, meta in metadata.items():
            zone = meta.get("availability_zone")
            if zone and agg_id in aggregates:
                az_aggregates[zone].append(aggregates[agg_id].uuid)
        nodes = {}
        for node, svc in rows:
            seen = svc.last_seen_up or svc.updated_at or svc.created_at
            zones = sorted(
                {m["availability_zone"] for m in host_aggs[node.host] if "availability_zone" in m}
            )
            nodes[node.uuid] = NodeFacts(
                uuid=node.uuid,
                host=node.host,
                nodename=node.hypervisor_hostname,
                disabled=svc.disabled,
                up=not svc.forced_down and seen is not None and now - seen <= down_after,
                availability_zone=",".join(zones) if zones else default_az,
                aggregates=host_aggs[node.host],
                hypervisor_type=node.hypervisor_type,
                hypervisor_version=node.hypervisor_version,
                supported_instances=list(node.supported_instances or []),
                cpu_info=dict(node.cpu_info or {}),
            )
        return nodes, dict(az_aggregates)

    def node(self, uuid: str) -> NodeFacts | None:
        self._refresh()
        found = self._nodes.get(uuid)
        if found is None:
            self._refresh(force=True)  # a host registered since the last load
            found = self._nodes.get(uuid)
        return found

    def nodes_of(self, host: str) -> list[str]:
        self._refresh()
        return list(self._by_host.get(host, []))

    def aggregates_in_zone(self, zone: str, reload_on_miss: bool = True) -> list[str]:
        self._refresh()
        found = self._az_aggregates.get(zone)
        if found is None and reload_on_miss:
            # The API checked that the zone exists: the view is older than the zone.
            self._refresh(force=True, throttle=False)
            found = self._az_aggregates.get(zone)
        return list(found or [])
