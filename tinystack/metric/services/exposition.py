"""The latest sample of every metric of a resource, for the Prometheus exposition
(``GET /metrics``): the newest measure posted, as Ceilometer's meter name made a
Prometheus name (``disk.device.write.bytes`` → ``ceilometer_disk_device_write_bytes``)
with the resource's id, type and project and the unit as labels."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from tinystack.metric import models
from tinystack.metric.services.deps import Deps

_UNSAFE = re.compile(r"[^a-zA-Z0-9_]")


@dataclass(frozen=True, slots=True)
class LatestSample:
    family: str
    resource_id: str
    resource_type: str
    project_id: str
    unit: str
    value: float
    #: epoch seconds of the measure
    timestamp: float


def family(meter: str) -> str:
    return "ceilometer_" + _UNSAFE.sub("_", meter)


def latest(deps: Deps) -> list[LatestSample]:
    with deps.db.reader() as session:
        rows = session.execute(
            select(models.Metric, models.Resource)
            .join(models.Resource, models.Metric.resource_id == models.Resource.id)
            .where(models.Metric.newest.is_not(None), models.Metric.name.is_not(None))
            .order_by(models.Metric.name, models.Resource.id)
        )
        return [
            LatestSample(
                family=family(str(metric.name)),
                resource_id=resource.id,
                resource_type=resource.type,
                project_id=resource.project_id or "",
                unit=metric.unit or "",
                value=float(metric.newest_value or 0.0),
                timestamp=float(metric.newest or 0.0),
            )
            for metric, resource in rows
        ]
