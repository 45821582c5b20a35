"""Agents (registered by their heartbeats over RPC) and the availability zones they offer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import NotFound
from tinystack.common.timeutils import new_uuid, utcnow
from tinystack.network import models
from tinystack.network.exception import invalid_input, not_found
from tinystack.network.payloads import AgentState
from tinystack.network.services import listing
from tinystack.network.services.records import AgentRecord, AvailabilityZoneRecord

if TYPE_CHECKING:
    from tinystack.network.services.deps import Deps

#: agent type -> the resource its availability zone serves
ZONE_RESOURCES = {"DHCP agent": "network", "L3 agent": "router"}
SPEC = listing.ListSpec(
    resource="agent",
    model=models.Agent,
    columns={
        "id": models.Agent.id,
        "agent_type": models.Agent.agent_type,
        "binary": models.Agent.binary,
        "host": models.Agent.host,
        "topic": models.Agent.topic,
        "admin_state_up": models.Agent.admin_state_up,
        "availability_zone": models.Agent.availability_zone,
    },
    converters={"admin_state_up": listing.to_bool, "alive": listing.to_bool},
    sortable=frozenset({"id", "agent_type", "binary", "host", "topic"}),
    getters={
        "id": lambda a: a.id,
        "agent_type": lambda a: a.agent_type,
        "binary": lambda a: a.binary,
        "host": lambda a: a.host,
        "topic": lambda a: a.topic,
        "admin_state_up": lambda a: a.admin_state_up,
        "alive": lambda a: a.alive,
        "availability_zone": lambda a: a.availability_zone,
        "description": lambda a: a.description,
    },
)


def alive(opts: Any, heartbeat: dt.datetime) -> bool:
    return (utcnow(whole_seconds=True) - heartbeat).total_seconds() <= int(opts.agent_down_time)


def zone_names(session: Session, opts: Any, resource: str) -> set[str]:
    names = set(opts.default_availability_zones)
    rows = session.execute(
        select(models.Agent.agent_type, models.Agent.availability_zone).where(
            models.Agent.availability_zone.is_not(None)
        )
    )
    for agent_type, zone in rows:
        if ZONE_RESOURCES.get(agent_type) == resource and zone:
            names.add(zone)
    return names


def check_zones(hints: list[str], known: set[str]) -> None:
    for hint in hints:
        if not isinstance(hint, str) or len(hint) > 255:
            raise invalid_input(f"'{hint}' is not a valid availability zone name")
        if hint not in known:
            raise NotFound(
                f"AvailabilityZone {hint} could not be found.", code="AvailabilityZoneNotFound"
            )


class Agents:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def records(self, session: Session, rows: Sequence[models.Agent]) -> list[AgentRecord]:
        return [self._record(r) for r in rows]

    def _record(self, row: models.Agent) -> AgentRecord:
        return AgentRecord(
            id=row.id,
            agent_type=row.agent_type,
            binary=row.binary,
            host=row.host,
            topic=row.topic,
            admin_state_up=row.admin_state_up,
            alive=alive(self.deps.opts, row.heartbeat_timestamp),
            availability_zone=row.availability_zone,
            configurations=dict(row.configurations or {}),
            resource_versions=dict(row.resource_versions or {}),
            description=row.description,
            created_at=row.created_at,
            started_at=row.started_at,
            heartbeat_timestamp=row.heartbeat_timestamp,
        )

    def list_items(self, query: listing.ListQuery) -> list[AgentRecord]:
        with self.deps.db.reader() as session:
            return listing.run(session, SPEC, select(models.Agent), query, self.records)

    def _row(self, session: Session, agent_id: str) -> models.Agent:
        row = session.get(models.Agent, agent_id)
        if row is None:
            raise not_found("agent", agent_id)
        return row

    def show(self, agent_id: str) -> AgentRecord:
        with self.deps.db.reader() as session:
            return self._record(self._row(session, agent_id))

    def update(
        self,
        agent_id: str,
        admin_state_up: bool | None,
        description: str | None,
        given: frozenset[str],
    ) -> AgentRecord:
        """Change what an admin may change: the attributes in ``given``."""

        def tx(session: Session) -> AgentRecord:
            row = self._row(session, agent_id)
            if "admin_state_up" in given:
                row.admin_state_up = bool(admin_state_up)
            if "description" in given:
                row.description = description
            return self._record(row)

        return self.deps.db.write(tx)

    def delete(self, agent_id: str) -> None:
        def tx(session: Session) -> None:
            session.delete(self._row(session, agent_id))

        self.deps.db.write(tx)

    def report_state(self, state: AgentState) -> str:
        """Record a heartbeat (registering the agent on its first one)."""
        agent_type, host = state.agent_type, state.host
        if not agent_type or not host:
            raise ValueError("agent state needs agent_type and host")

        def tx(session: Session) -> str:
            row = session.scalars(
                select(models.Agent).where(
                    models.Agent.agent_type == agent_type, models.Agent.host == host
                )
            ).first()
            stamp = utcnow(whole_seconds=True)
            if row is None:
                row = models.Agent(
                    id=new_uuid(),
                    agent_type=agent_type,
                    host=host,
                    admin_state_up=True,
                    created_at=stamp,
                    started_at=stamp,
                )
                session.add(row)
            if state.start_flag:
                row.started_at = stamp
            row.binary = state.binary
            row.topic = state.topic
            row.availability_zone = state.availability_zone
            row.configurations = dict(state.configurations)
            row.resource_versions = dict(state.resource_versions)
            row.heartbeat_timestamp = stamp
            return row.id

        return self.deps.db.write(tx)

    def availability_zones(self) -> list[AvailabilityZoneRecord]:
        opts = self.deps.opts
        zones: dict[tuple[str, str], str] = {}
        for name in opts.default_availability_zones:
            for resource in ("network", "router"):
                zones[(name, resource)] = "available"
        with self.deps.db.reader() as session:
            for row in session.scalars(select(models.Agent)):
                kind = ZONE_RESOURCES.get(row.agent_type)
                if kind and row.availability_zone:
                    up = row.admin_state_up and alive(opts, row.heartbeat_timestamp)
                    key = (row.availability_zone, kind)
                    if up or key not in zones:
                        zones[key] = "available" if up else "unavailable"
        return [
            AvailabilityZoneRecord(name, resource, state)
            for (name, resource), state in sorted(zones.items())
        ]
