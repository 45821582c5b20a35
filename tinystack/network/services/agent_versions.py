"""What the network agents run, for rolling upgrades: each agent's heartbeat carries its
``resource_versions`` (``rpc`` and its payloads' versions, stored on its row); the
``[upgrade_levels] l2_agent|dhcp_agent|l3_agent`` caps of the service's fanout casts
(``auto``: the oldest version the agents of that type report) and the report of
``tinystack upgrade check``. An agent that reports no version runs ``LEGACY_VERSION``."""

from __future__ import annotations

from oslo_config import cfg
from sqlalchemy import select

from tinystack.common.db import Database
from tinystack.common.rpc import versions
from tinystack.common.rpc.versions import CapReport, RunningVersion, VersionCap
from tinystack.network import models, rpcapi
from tinystack.network.services.agents import alive

#: ``[upgrade_levels]`` option -> the agent type its casts reach
AGENT_TYPES = {
    "l2_agent": rpcapi.LINUXBRIDGE_AGENT,
    "dhcp_agent": rpcapi.DHCP_AGENT,
    "l3_agent": rpcapi.L3_AGENT,
}


def _rpc(resource_versions: dict[str, str] | None) -> str:
    return str((resource_versions or {}).get("rpc") or rpcapi.LEGACY_VERSION)


def reported_rpc_versions(db: Database, agent_type: str) -> list[str]:
    with db.reader() as session:
        rows = session.execute(
            select(models.Agent.resource_versions).where(models.Agent.agent_type == agent_type)
        ).all()
    return [_rpc(found) for (found,) in rows]


def version_cap(conf: cfg.ConfigOpts, db: Database, option: str) -> VersionCap:
    agent_type = AGENT_TYPES[option]
    return VersionCap(
        option, versions.level(conf, option), reported=lambda: reported_rpc_versions(db, agent_type)
    )


def caps_by_agent_type(conf: cfg.ConfigOpts, db: Database) -> dict[str, VersionCap]:
    """What :class:`~tinystack.network.rpcapi.AgentNotifier` takes."""
    return {agent_type: version_cap(conf, db, option) for option, agent_type in AGENT_TYPES.items()}


def caps(conf: cfg.ConfigOpts, db: Database) -> list[CapReport]:
    return [
        CapReport(
            "network",
            option,
            versions.level(conf, option),
            version_cap(conf, db, option)(),
            rpcapi.API_VERSION,
        )
        for option in AGENT_TYPES
    ]


def report(db: Database, opts: object) -> list[RunningVersion]:
    with db.reader() as session:
        rows = list(session.scalars(select(models.Agent).order_by(models.Agent.created_at)))
    return [
        RunningVersion(
            service="network",
            host=row.host,
            binary=row.binary,
            rpc_version=_rpc(row.resource_versions),
            current=rpcapi.API_VERSION,
            up=alive(opts, row.heartbeat_timestamp),
            object_versions={
                k: str(v) for k, v in (row.resource_versions or {}).items() if k != "rpc"
            },
        )
        for row in rows
    ]
