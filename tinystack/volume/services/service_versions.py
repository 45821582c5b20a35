"""What the volume service's processes run: the RPC version each reports (Cinder's
``services.rpc_current_version``, stamped by :func:`os_services.ensure`), the
``[upgrade_levels] volume_scheduler|volume|backup`` caps (``auto``: the oldest a topic's
rows report) and the report of ``tinystack upgrade check``. A row without a version
predates the report and counts as 1.0."""

from __future__ import annotations

from oslo_config import cfg
from sqlalchemy import select

from tinystack.common.db import Database
from tinystack.common.rpc import versions
from tinystack.common.rpc.versions import CapReport, RunningVersion, VersionCap
from tinystack.volume import models, rpcapi
from tinystack.volume.services import os_services

LEGACY = "1.0"

#: ``[upgrade_levels]`` option -> its topic
TOPICS = {
    "volume_scheduler": rpcapi.SCHEDULER_TOPIC,
    "volume": rpcapi.VOLUME_TOPIC,
    "backup": rpcapi.BACKUP_TOPIC,
}


def reported_rpc_versions(db: Database, topic: str) -> list[str]:
    with db.reader() as session:
        rows = session.execute(
            select(models.Service.rpc_current_version).where(models.Service.topic == topic)
        ).all()
    return [version or LEGACY for (version,) in rows]


def version_cap(conf: cfg.ConfigOpts, db: Database, option: str) -> VersionCap:
    topic = TOPICS[option]
    return VersionCap(
        option, versions.level(conf, option), reported=lambda: reported_rpc_versions(db, topic)
    )


def caps(conf: cfg.ConfigOpts, db: Database) -> list[CapReport]:
    return [
        CapReport(
            "volume",
            option,
            versions.level(conf, option),
            version_cap(conf, db, option)(),
            rpcapi.VERSIONS[topic],
        )
        for option, topic in TOPICS.items()
    ]


def report(db: Database, service_down_time: int) -> list[RunningVersion]:
    with db.reader() as session:
        rows = list(session.scalars(select(models.Service).order_by(models.Service.id)))
    return [
        RunningVersion(
            service="volume",
            host=row.host,
            binary=row.binary,
            rpc_version=row.rpc_current_version or LEGACY,
            current=rpcapi.VERSIONS.get(row.topic, LEGACY),
            up=os_services.is_up(row.heartbeat_at, service_down_time),
        )
        for row in rows
    ]
