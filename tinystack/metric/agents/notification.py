"""The notification agent (Ceilometer's): reads the services' notifications off the bus
and keeps the metric store's resources in step with the cloud — an instance, volume or
image gets its resource (with Ceilometer's attributes) when created and its
``ended_at`` when deleted — and turns the sizes the notifications carry into samples
(``vcpus``, ``memory``, ``volume.size``, ``image.size``; ``bandwidth``, the bytes of a
network metering label's ``l3.meter`` report, on a ``generic`` resource named by the
label).

It talks to the metric API over REST with the service's session, as Ceilometer does
(so the resources and metrics are created by, and owned as, the telemetry service).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from tinystack.common.clients.metric import MetricClient, Sample
from tinystack.common.clients.session import ClientError
from tinystack.common.notifier import Notification, NotificationListener
from tinystack.common.rpc import Transport
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import parse_isotime, utcnow

LOG = logging.getLogger(__name__)
#: the archive policy of the metrics the agent creates
ARCHIVE_POLICY = "low"


def _text(payload: dict[str, JSON], key: str) -> str | None:
    value = payload.get(key)
    return None if value in (None, "") else str(value)


def _number(payload: dict[str, JSON], key: str) -> float | None:
    value = payload.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _when(notification: Notification) -> datetime:
    try:
        return parse_isotime(notification.timestamp.replace(" ", "T"))
    except ValueError:
        return utcnow()


class NotificationAgent:
    def __init__(self, transport: Transport, client: MetricClient) -> None:
        self.client = client
        self.listener = NotificationListener(transport, self.handle)
        self.handlers: dict[str, Callable[[Notification], None]] = {
            "compute.instance.create.end": self._instance_created,
            "compute.instance.delete.end": self._instance_deleted,
            "volume.create.end": self._volume_created,
            "volume.delete.end": self._volume_deleted,
            "image.upload": self._image_uploaded,
            "l3.meter": self._metered,
        }

    def start(self) -> None:
        self.listener.start()

    def stop(self) -> None:
        self.listener.stop()

    def handle(self, notification: Notification) -> None:
        handler = self.handlers.get(notification.event_type)
        if handler is None:
            return
        try:
            handler(notification)
        except ClientError:
            LOG.exception("could not record %s in the metric store", notification.event_type)

    def _samples(self, notification: Notification, resource_id: str,
                 meters: list[tuple[str, str, float | None]]) -> None:  # fmt: skip
        when = _when(notification)
        samples = [
            Sample(resource_id, name, unit, value, when)
            for name, unit, value in meters
            if value is not None
        ]
        self.client.push(samples, ARCHIVE_POLICY)

    def _instance_created(self, notification: Notification) -> None:
        p = notification.payload
        rid = str(p["instance_id"])
        attributes: dict[str, JSON] = {
            "project_id": _text(p, "tenant_id"),
            "user_id": _text(p, "user_id"),
            "display_name": _text(p, "display_name") or "",
            "flavor_id": _text(p, "instance_flavor_id") or "",
            "flavor_name": _text(p, "instance_type"),
            "host": _text(p, "host") or "",
            "image_ref": _text(p, "image_ref_url"),
        }
        self.client.ensure_resource("instance", rid, attributes)
        self._samples(notification, rid, [
            ("vcpus", "vcpu", _number(p, "vcpus")),
            ("memory", "MB", _number(p, "memory_mb")),
        ])  # fmt: skip

    def _instance_deleted(self, notification: Notification) -> None:
        self.client.end_resource(
            "instance", str(notification.payload["instance_id"]), _when(notification)
        )

    def _volume_created(self, notification: Notification) -> None:
        p = notification.payload
        rid = str(p["volume_id"])
        attributes: dict[str, JSON] = {
            "project_id": _text(p, "tenant_id"),
            "user_id": _text(p, "user_id"),
            "display_name": _text(p, "display_name"),
            "volume_type": _text(p, "volume_type"),
        }
        self.client.ensure_resource("volume", rid, attributes)
        self._samples(notification, rid, [("volume.size", "GB", _number(p, "size"))])

    def _volume_deleted(self, notification: Notification) -> None:
        self.client.end_resource(
            "volume", str(notification.payload["volume_id"]), _when(notification)
        )

    def _image_uploaded(self, notification: Notification) -> None:
        p = notification.payload
        rid = str(p["id"])
        attributes: dict[str, JSON] = {
            "project_id": _text(p, "owner"),
            "name": _text(p, "name"),
            "container_format": _text(p, "container_format"),
            "disk_format": _text(p, "disk_format"),
        }
        self.client.ensure_resource("image", rid, attributes)
        self._samples(notification, rid, [("image.size", "B", _number(p, "size"))])

    def _metered(self, notification: Notification) -> None:
        p = notification.payload
        rid = str(p["label_id"])
        self.client.ensure_resource("generic", rid, {"project_id": _text(p, "tenant_id")})
        self._samples(notification, rid, [("bandwidth", "B", _number(p, "bytes"))])
