"""The block storage service as compute's service modules see it (not for use outside
``services/``): its answers as compute's errors, the way Nova's cinder API translates them.

A volume or snapshot the caller cannot see is compute's 404; what the block storage
service refuses as bad input (a volume in the wrong status, say) is compute's 400 with its
reason; a cloud without the service has no volumes to find.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from tinystack.common.clients.session import ClientError, ClientNotFound, EndpointNotFound
from tinystack.common.clients.volume import Snapshot, Volume, VolumeClient
from tinystack.common.db import Database
from tinystack.common.exceptions import BadRequest, Forbidden, ServiceUnavailable
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception
from tinystack.compute.objects import BlockDevice
from tinystack.compute.services import block_devices
from tinystack.compute.services.deps import Deps

LOG = logging.getLogger(__name__)


class InvalidInput(BadRequest):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid input received: {reason}")


@contextlib.contextmanager
def translated(*, volume_id: str | None = None, snapshot_id: str | None = None) -> Iterator[None]:
    """Turn the block storage service's errors into compute's, as upstream does."""
    try:
        yield
    except ClientNotFound as exc:
        if snapshot_id is not None:
            raise exception.SnapshotNotFound(snapshot_id) from exc
        raise exception.VolumeNotFound(volume_id or "") from exc
    except EndpointNotFound as exc:
        if snapshot_id is not None:
            raise exception.SnapshotNotFound(snapshot_id) from exc
        raise exception.VolumeNotFound(volume_id or "") from exc
    except ClientError as exc:
        if exc.status == 400:
            raise InvalidInput(f"{exc.message} (HTTP 400)") from exc
        if exc.status == 403:
            raise Forbidden(exc.message) from exc
        if exc.status == 413:
            raise exception.QuotaExceeded(f"Quota exceeded: {exc.message}") from exc
        if exc.status == 409:
            raise exception.InvalidVolume(exc.message) from exc
        raise ServiceUnavailable(f"The block storage service failed: {exc.message}") from exc


def get_volume(deps: Deps, ctx: CallContext, volume_id: str) -> Volume:
    """The volume as the caller sees it (VolumeNotFound)."""
    with translated(volume_id=volume_id):
        return deps.volume.get(volume_id, token=ctx.token)


def get_snapshot(deps: Deps, ctx: CallContext, snapshot_id: str) -> Snapshot:
    with translated(snapshot_id=snapshot_id):
        return deps.volume.get_snapshot(snapshot_id, token=ctx.token)


def release(client: VolumeClient, ctx: CallContext, bdm: BlockDevice) -> None:
    """End the mapping's attachment and, if it says so, delete the volume (upstream's local
    clean-up of a server without a host); errors are logged."""
    if bdm.attachment_id:
        try:
            client.attachment_delete(bdm.attachment_id, token=ctx.token)
        except ClientError as exc:
            LOG.warning("cannot delete attachment %s: %s", bdm.attachment_id, exc)
    if bdm.delete_on_termination and bdm.volume_id:
        try:
            client.delete(bdm.volume_id, token=ctx.token)
        except ClientError as exc:
            LOG.warning("cannot delete volume %s: %s", bdm.volume_id, exc)


def release_all(db: Database, client: VolumeClient, ctx: CallContext, uuid: str) -> None:
    """Server delete: release every volume of the instance and forget its mappings."""
    for bdm in block_devices.list_for(db, uuid):
        release(client, ctx, bdm)
        block_devices.destroy(db, bdm.uuid)
