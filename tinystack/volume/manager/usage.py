"""The volume usage notifications Cinder's volume manager emits and Ceilometer reads:
``volume.create.end`` and ``volume.delete.end``, with Cinder's ``_usage_from_volume``
payload (times as ``YYYY-MM-DD HH:MM:SS+00:00``)."""

from __future__ import annotations

from datetime import datetime

from tinystack.common.notifier import Notifier
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.volume.services.records import VolumeRecord


def _time(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S+00:00")


def usage_payload(volume: VolumeRecord) -> dict[str, JSON]:
    return {
        "tenant_id": volume.project_id,
        "user_id": volume.user_id,
        "host": volume.host,
        "availability_zone": volume.availability_zone,
        "volume_id": volume.id,
        "volume_type": volume.volume_type_id,
        "display_name": volume.name,
        "launched_at": _time(volume.launched_at),
        "created_at": _time(volume.created_at),
        "status": volume.status,
        "snapshot_id": volume.snapshot_id,
        "size": volume.size,
        "replication_status": volume.replication_status,
        "replication_extended_status": None,
        "replication_driver_data": None,
        "metadata": dict(volume.metadata),
        "volume_attachment": [
            {"id": a.id, "instance_uuid": a.instance_uuid, "attach_status": a.attach_status}
            for a in volume.attachments
        ],
    }


def notify_usage(
    notifier: Notifier, ctx: CallContext | None, volume: VolumeRecord, event_suffix: str
) -> None:
    """Emit ``volume.<event_suffix>`` for ``volume``, as its host (``volume.host@backend``)."""
    host = (volume.host or "localhost").partition("#")[0]
    notifier.prepare(f"volume.{host}").info(ctx, f"volume.{event_suffix}", usage_payload(volume))
