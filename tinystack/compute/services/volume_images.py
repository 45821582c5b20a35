"""``createImage`` of a volume-backed server: a snapshot of each volume, and an image that
records them.

As upstream (``snapshot_volume_backed``): the image holds no data (size 0, activated with
an empty upload as ``raw``/``bare``); its ``block_device_mapping`` property is the JSON list
of the server's mappings with each volume replaced by its new snapshot (``bdm_v2``
``True``, ``root_device_name`` beside it). Booting the image makes volumes from those
snapshots (``boot_volumes.image_defined``).
"""

from __future__ import annotations

import json
import logging

from tinystack.common.clients.session import ClientError
from tinystack.common.exceptions import BadRequest, Conflict
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.compute import exception
from tinystack.compute.objects import BlockDevice
from tinystack.compute.services import block_devices, instance_actions
from tinystack.compute.services._volumes import translated
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.records import ServerRecord

LOG = logging.getLogger(__name__)


def image_mapping(bdm: BlockDevice, snapshot_id: str) -> dict[str, JSON]:
    """The mapping an image keeps of one volume: made again from ``snapshot_id``."""
    return {
        "source_type": "snapshot",
        "destination_type": "volume",
        "snapshot_id": snapshot_id,
        "volume_id": None,
        "image_id": None,
        "volume_size": bdm.volume_size,
        "boot_index": bdm.boot_index,
        "device_name": bdm.device_name,
        "delete_on_termination": bdm.delete_on_termination,
        "tag": bdm.tag,
        "volume_type": bdm.volume_type,
        "disk_bus": bdm.disk_bus,
        "device_type": bdm.device_type,
        "guest_format": bdm.guest_format,
        "no_device": None,
        "connection_info": None,
    }


def snapshot(deps: Deps, ctx: CallContext, inst: ServerRecord, body: dict[str, JSON]) -> str:
    """Snapshot every volume of the server (in use: ``force``) and create the image
    ``body`` describes with their mappings; the image id."""
    if not deps.image.available():
        raise Conflict("The image service is not available.")
    name = str(body.get("name") or "")
    instance_actions.record_start(deps.db, ctx, inst.uuid, instance_actions.CREATE_IMAGE)
    mappings = []
    made: list[str] = []
    try:
        for bdm in block_devices.list_for(deps.db, inst.uuid):
            if not bdm.volume_id:
                continue
            with translated(volume_id=bdm.volume_id):
                volume = deps.volume.get(bdm.volume_id, token=ctx.token)
                snap = deps.volume.create_snapshot(
                    volume.id,
                    force=True,
                    name=f"snapshot for {name}",
                    description=volume.description,
                    token=ctx.token,
                )
            made.append(snap.id)
            mappings.append(image_mapping(bdm, snap.id))
    except BaseException:
        for snapshot_id in made:
            _drop_snapshot(deps, ctx, snapshot_id)
        raise
    image = {
        **{k: v for k, v in body.items() if k not in ("disk_format", "container_format")},
        "disk_format": "raw",
        "container_format": "bare",
        "root_device_name": inst.root_device_name or "/dev/vda",
        "bdm_v2": "True",
    }
    if mappings:
        image["block_device_mapping"] = json.dumps(mappings)
    try:
        image_id = str(deps.image.create(image, token=ctx.token)["id"])
        deps.image.upload(image_id, b"", token=ctx.token)
    except ClientError as exc:
        for snapshot_id in made:
            _drop_snapshot(deps, ctx, snapshot_id)
        if exc.status == 413:
            raise exception.QuotaExceeded(exc.message) from exc
        raise BadRequest(f"The image service refused the snapshot: {exc.message}") from exc
    return image_id


def _drop_snapshot(deps: Deps, ctx: CallContext, snapshot_id: str) -> None:
    try:
        deps.volume.delete_snapshot(snapshot_id, token=ctx.token)
    except ClientError as exc:
        LOG.warning("cannot delete snapshot %s: %s", snapshot_id, exc)
