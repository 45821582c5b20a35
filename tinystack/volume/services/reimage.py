"""Re-imaging a volume in place (``os-reimage``, 3.68): its contents replaced by an
image's, as Nova's rebuild of a volume-backed server asks (``reimage_reserved``).

The volume goes ``downloading`` with a ``reimage`` operation record (its previous
status, the image) and is cast to its manager; :func:`reimaged` settles it back in its
previous status with the new image metadata, or it goes ``error``.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.payloads import ReimageSpec
from tinystack.volume.services import _rows, volumes, workers
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.volumes import ImageSource

__all__ = ["REIMAGE", "REIMAGE_RESERVED", "reimage", "reimaged", "spec_of"]
REIMAGE = "volume:reimage"
REIMAGE_RESERVED = "volume:reimage_reserved"


def reimage(
    deps: Deps, ctx: RequestContext, volume_id: str, image: ImageSource, reimage_reserved: bool
) -> None:
    def tx(session: Session) -> tuple[str, ReimageSpec]:
        row = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
        rule = REIMAGE_RESERVED if row.status == "reserved" else REIMAGE
        _rows.authorize_volume(ctx, rule, row)
        servers = list(
            session.scalars(
                select(models.VolumeAttachment.instance_uuid).where(
                    models.VolumeAttachment.volume_id == volume_id,
                    models.VolumeAttachment.attach_status != "detached",
                )
            )
        )
        if len(servers) > 1:
            raise exception.Conflict(
                "Cannot re-image a volume which is attached to more than one server."
            )
        allowed = ("available", "error", "reserved") if reimage_reserved else ("available", "error")
        if row.status not in allowed or not row.host:
            raise exception.InvalidVolume(
                reason=f"Volume {volume_id} status must be {', '.join(allowed)}, but current "
                f"status is: {row.status}."
            )
        volumes.check_image(image, row.size)
        previous = row.status
        row.status = "downloading"
        row.updated_at = utcnow()
        spec = ReimageSpec(
            volume_id=volume_id,
            image_id=image.id,
            previous_status=previous,
            reimage_reserved=reimage_reserved,
            instance_uuids=tuple(s for s in servers if s),
            image_metadata=dict(image.properties),
        )
        workers.begin(session, "Volume", volume_id, "downloading", "reimage", row.host,
                      spec.to_primitive())  # fmt: skip
        return row.host, spec

    host, spec = deps.db.write(tx)
    event = deps.watch(volume_id)
    deps.volumes.reimage(CallContext.from_request(ctx), host, spec)
    deps.settle(volume_id, event)


def spec_of(args: dict[str, JSON]) -> ReimageSpec:
    """The re-image a workers record describes (its args are the spec)."""
    return ReimageSpec.from_primitive(args)


def reimaged(deps: Deps, spec: ReimageSpec, location: str | None) -> bool:
    """The volume holds the image: back to its previous status with the image's
    metadata. False when it is no longer ``downloading``."""

    def tx(session: Session) -> bool:
        row = session.get(models.Volume, spec.volume_id)
        if row is None or row.status != "downloading":
            return False
        session.execute(
            delete(models.VolumeGlanceMetadata).where(
                models.VolumeGlanceMetadata.volume_id == spec.volume_id
            )
        )
        for key, value in spec.image_metadata.items():
            session.add(models.VolumeGlanceMetadata(volume_id=spec.volume_id, key=key, value=value))
        row.status = spec.previous_status
        row.provider_location = location
        row.bootable = True
        row.updated_at = utcnow()
        workers.finish(session, "Volume", spec.volume_id)
        return True

    return deps.db.write(tx)
