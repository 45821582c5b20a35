"""What compute's services run: RPC and payload versions, for rolling upgrades.

Each service stamps its row when it registers (the agents in ``register_nodes``, the
conductor and scheduler in ``ensure_service``) with the RPC version it serves and the
versions of the payloads it reads (:mod:`tinystack.compute.objects`). ``[upgrade_levels]
... = auto`` caps clients at the oldest version of a topic's rows; ``tinystack upgrade
check`` lists them (:func:`report`). A row without a version predates the report: it
runs what the topic spoke before (``LEGACY``).
"""

from __future__ import annotations

from datetime import timedelta

from oslo_config import cfg
from sqlalchemy import select

from tinystack.common.db import Database
from tinystack.common.rpc import versions
from tinystack.common.rpc.payload import payload_versions
from tinystack.common.rpc.versions import CapReport, RunningVersion, VersionCap
from tinystack.common.timeutils import utcnow
from tinystack.compute import models, objects, rpcapi

COMPUTE_BINARY = "nova-compute"
CONDUCTOR_BINARY = "nova-conductor"
SCHEDULER_BINARY = "nova-scheduler"

#: binary -> the RPC version its services spoke before they reported one
LEGACY = {COMPUTE_BINARY: "2.1", CONDUCTOR_BINARY: "2.0", SCHEDULER_BINARY: "2.0"}


def running(binary: str) -> str:
    """The RPC version this code serves as ``binary``."""
    return {
        COMPUTE_BINARY: rpcapi.COMPUTE_VERSION,
        CONDUCTOR_BINARY: rpcapi.CONDUCTOR_VERSION,
        SCHEDULER_BINARY: rpcapi.SCHEDULER_VERSION,
    }.get(binary, "1.0")


def stamp(row: models.Service) -> None:
    """Record on ``row`` what this code runs (inside the registering transaction)."""
    row.rpc_version = running(row.binary)
    row.object_versions = payload_versions(vars(objects))


def reported_rpc_versions(db: Database, binary: str) -> list[str]:
    """The RPC version of every service row of ``binary`` (down ones too, as upstream: a
    stopped old host still has to be upgraded or deleted before the cap may rise)."""
    with db.reader() as session:
        rows = session.execute(
            select(models.Service.rpc_version).where(models.Service.binary == binary)
        ).all()
    return [version or LEGACY.get(binary, "1.0") for (version,) in rows]


def report(db: Database, service_down_time: int) -> list[RunningVersion]:
    """Every compute service with the versions it reported, older ones first."""
    limit = timedelta(seconds=service_down_time)
    now = utcnow()
    with db.reader() as session:
        rows = list(session.scalars(select(models.Service).order_by(models.Service.id)))
    found = []
    for row in rows:
        seen = row.last_seen_up or row.updated_at or row.created_at
        found.append(
            RunningVersion(
                service="compute",
                host=row.host,
                binary=row.binary,
                rpc_version=row.rpc_version or LEGACY.get(row.binary, "1.0"),
                current=running(row.binary),
                up=not row.forced_down and seen is not None and now - seen <= limit,
                object_versions=dict(row.object_versions or {}),
            )
        )
    return sorted(found, key=lambda s: (not s.older, s.binary, s.host))


#: ``[upgrade_levels]`` topic -> the binary of its receivers
TOPICS = {"compute": COMPUTE_BINARY, "conductor": CONDUCTOR_BINARY, "scheduler": SCHEDULER_BINARY}


def version_cap(conf: cfg.ConfigOpts, db: Database, topic: str) -> VersionCap:
    """The cap of a topic's clients; ``auto``: the oldest version its services report."""
    binary = TOPICS[topic]
    return VersionCap(
        topic, versions.level(conf, topic), reported=lambda: reported_rpc_versions(db, binary)
    )


def caps(conf: cfg.ConfigOpts, db: Database) -> list[CapReport]:
    return [
        CapReport(
            "compute",
            topic,
            versions.level(conf, topic),
            version_cap(conf, db, topic)(),
            running(binary),
        )
        for topic, binary in TOPICS.items()
    ]
