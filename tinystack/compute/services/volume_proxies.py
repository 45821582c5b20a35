"""The compute API's volume proxies (microversions before 2.36) over the block storage service.

``os-volumes`` and ``os-snapshots`` are Nova's old views of block storage. As upstream
with Cinder, every call is made to the block storage service with the caller's own token
(so its policy and quotas decide) and its errors become Nova's (:mod:`._volumes`): a
volume or snapshot the caller cannot see is 404, bad input 400, a quota 403. The API
layer puts the records in Nova's shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tinystack.common.clients.volume import Snapshot, Volume
from tinystack.common.rpc.context import CallContext
from tinystack.compute import exception
from tinystack.compute.services import _volumes
from tinystack.compute.services._volumes import InvalidInput, translated
from tinystack.compute.services.deps import Deps


@dataclass(frozen=True, slots=True)
class NewVolume:
    """``POST /os-volumes`` as given; ``size`` None takes the snapshot's."""

    size: int | None
    display_name: str | None = None
    display_description: str | None = None
    volume_type: str | None = None
    availability_zone: str | None = None
    snapshot_id: str | None = None
    metadata: Mapping[str, str] | None = None


# -- volumes ----------------------------------------------------------------------------------


def list_volumes(deps: Deps, ctx: CallContext) -> list[Volume]:
    """The caller's volumes, newest first (the block storage service's order)."""
    with translated():
        return deps.volume.list_volumes(token=ctx.token)


def get_volume(deps: Deps, ctx: CallContext, volume_id: str) -> Volume:
    return _volumes.get_volume(deps, ctx, volume_id)


def create_volume(deps: Deps, ctx: CallContext, new: NewVolume) -> Volume:
    """Ask for the volume (it is ``creating``; the block storage service builds it)."""
    size = new.size
    if new.snapshot_id is not None:
        snapshot = _volumes.get_snapshot(deps, ctx, new.snapshot_id)
        if size is None:
            size = snapshot.size
    if size is None:
        raise InvalidInput("size is required unless a snapshot is given")
    with translated():
        return deps.volume.create(
            size,
            token=ctx.token,
            name=new.display_name,
            description=new.display_description,
            snapshot_id=new.snapshot_id,
            volume_type=new.volume_type,
            availability_zone=new.availability_zone,
            metadata=new.metadata,
        )


def delete_volume(deps: Deps, ctx: CallContext, volume_id: str) -> None:
    """Delete the volume (VolumeNotFound when the caller cannot see it)."""
    with translated(volume_id=volume_id):
        if not deps.volume.delete(volume_id, token=ctx.token):
            raise exception.VolumeNotFound(volume_id)


# -- snapshots --------------------------------------------------------------------------------


def list_snapshots(deps: Deps, ctx: CallContext) -> list[Snapshot]:
    with translated():
        return deps.volume.list_snapshots(token=ctx.token)


def get_snapshot(deps: Deps, ctx: CallContext, snapshot_id: str) -> Snapshot:
    return _volumes.get_snapshot(deps, ctx, snapshot_id)


def create_snapshot(
    deps: Deps,
    ctx: CallContext,
    volume_id: str,
    *,
    force: bool = False,
    name: str | None = None,
    description: str | None = None,
) -> Snapshot:
    """Snapshot the volume (``force``: also while it is attached)."""
    with translated(volume_id=volume_id):
        return deps.volume.create_snapshot(
            volume_id, force=force, name=name, description=description, token=ctx.token
        )


def delete_snapshot(deps: Deps, ctx: CallContext, snapshot_id: str) -> None:
    with translated(snapshot_id=snapshot_id):
        if not deps.volume.delete_snapshot(snapshot_id, token=ctx.token):
            raise exception.SnapshotNotFound(snapshot_id)
