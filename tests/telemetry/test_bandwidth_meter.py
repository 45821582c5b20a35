"""The notification agent turns the network's ``l3.meter`` reports into Ceilometer's
``bandwidth`` meter (bytes, on the label's resource)."""

from __future__ import annotations

from typing import Any, cast

from tinystack.common.clients.metric import MetricClient, Sample
from tinystack.common.notifier import Notification
from tinystack.common.rpc import Transport
from tinystack.common.rpc.payload import JSON
from tinystack.metric.agents.notification import NotificationAgent


class FakeClient:
    def __init__(self) -> None:
        self.resources: list[tuple[str, str, dict[str, JSON]]] = []
        self.samples: list[Sample] = []

    def ensure_resource(self, kind: str, rid: str, attributes: dict[str, JSON]) -> None:
        self.resources.append((kind, rid, attributes))

    def push(self, samples: list[Sample], archive_policy: str) -> None:
        self.samples += samples


def test_l3_meter_becomes_bandwidth() -> None:
    client = FakeClient()
    agent = NotificationAgent(cast(Transport, object()), cast(MetricClient, cast(Any, client)))
    payload: dict[str, JSON] = {
        "label_id": "label-1", "tenant_id": "p1", "pkts": 3, "bytes": 252, "time": 2,
        "first_update": 1, "last_update": 3, "host": "h",
    }  # fmt: skip
    agent.handle(Notification("l3.meter", "metering.h", payload))
    assert client.resources == [("generic", "label-1", {"project_id": "p1"})]
    [sample] = client.samples
    assert (sample.resource_id, sample.name, sample.unit, sample.value) == (
        "label-1", "bandwidth", "B", 252.0,
    )  # fmt: skip
