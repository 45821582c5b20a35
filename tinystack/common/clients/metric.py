"""Metric (Gnocchi v1) client: what the telemetry agents ask of the metric service, as
Ceilometer's Gnocchi publisher does — resources created (or their attributes updated)
and ended, and measures of named metrics of resources pushed in one batch, the metrics
created on first use with the archive policy and unit given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tinystack.common.clients.session import ClientConflict, Session
from tinystack.common.rpc.payload import JSON

SERVICE_TYPE = "metric"


@dataclass(frozen=True, slots=True)
class Sample:
    """One measure of a meter (Ceilometer's sample), for the resource it is about."""

    resource_id: str
    name: str
    unit: str
    value: float
    timestamp: datetime


class MetricClient:
    def __init__(self, session: Session) -> None:
        self.session = session

    def available(self) -> bool:
        return self.session.has_service(SERVICE_TYPE)

    def ensure_resource(
        self, resource_type: str, resource_id: str, attributes: dict[str, JSON]
    ) -> None:
        """Create the resource; if it exists, update its attributes (``project_id`` and
        ``user_id`` are only set at creation)."""
        body: dict[str, JSON] = {"id": resource_id, **attributes}
        try:
            self.session.request(SERVICE_TYPE, "POST", f"/v1/resource/{resource_type}",
                                 json_body=body)  # fmt: skip
        except ClientConflict:
            update = {k: v for k, v in attributes.items() if k not in ("project_id", "user_id")}
            if update:
                self.session.request(
                    SERVICE_TYPE, "PATCH", f"/v1/resource/{resource_type}/{resource_id}",
                    json_body=update,
                )  # fmt: skip

    def end_resource(self, resource_type: str, resource_id: str, ended_at: datetime) -> None:
        self.session.request(
            SERVICE_TYPE, "PATCH", f"/v1/resource/{resource_type}/{resource_id}",
            json_body={"ended_at": ended_at.isoformat()}, ok=(200, 404),
        )  # fmt: skip

    def push(self, samples: list[Sample], archive_policy: str) -> None:
        """The samples' measures, each into the named metric of its resource."""
        batch: dict[str, dict[str, dict[str, JSON]]] = {}
        for sample in samples:
            metric = batch.setdefault(sample.resource_id, {}).setdefault(
                sample.name,
                {"archive_policy_name": archive_policy, "unit": sample.unit, "measures": []},
            )
            measures = metric["measures"]
            assert isinstance(measures, list)
            measures.append({"timestamp": sample.timestamp.isoformat(), "value": sample.value})
        if batch:
            self.session.request(
                SERVICE_TYPE, "POST", "/v1/batch/resources/metrics/measures",
                params={"create_metrics": "true"}, json_body=batch,
            )  # fmt: skip
