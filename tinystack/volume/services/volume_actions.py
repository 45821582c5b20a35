"""Volume actions that are not about attachments: extend (offline, and online 3.42),
retype (on its backend, or migrated with policy ``on-demand``), bootable and read-only
flags, image metadata, upload to an image, and the admin's reset-status.

The attach actions and the attachments API are ``services/attachments.py``'s (another
module, another owner).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.clients.session import ClientError
from tinystack.common.db import Database
from tinystack.common.rpc.context import CallContext
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.payloads import ExtendSpec, ImageUpload, RetypeSpec
from tinystack.volume.services import (
    _rows,
    extend_completion,
    quotas,
    type_encryption,
    volume_types,
    workers,
)
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.records import VolumeRecord

LOG = logging.getLogger(__name__)

VOLUME_STATUSES = (
    "creating", "available", "deleting", "error", "error_deleting", "error_managing",
    "managing", "attaching", "in-use", "detaching", "maintenance", "restoring-backup",
    "error_restoring", "reserved", "awaiting-transfer", "backing-up", "error_backing-up",
    "error_extending", "downloading", "uploading", "retyping", "extending",
)  # fmt: skip
ATTACH_STATUSES = ("attached", "detached")
MIGRATION_STATUSES = ("migrating", "error", "success", "completing", "none", "starting")
#: image properties a volume never passes on to an image it is uploaded as
RESERVED_IMAGE_KEYS = {
    "image_id", "image_name", "checksum", "container_format", "disk_format", "min_disk",
    "min_ram", "size", "status", "id", "name", "owner", "visibility", "protected",
    "os_hash_algo", "os_hash_value", "os_hidden", "owner_specified.openstack.md5",
    "owner_specified.openstack.sha256", "owner_specified.openstack.object",
    "stores", "locations", "direct_url",
}  # fmt: skip


def _load(session: Session, ctx: RequestContext, volume_id: str, rule: str) -> models.Volume:
    row = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
    _rows.authorize_volume(ctx, rule, row)
    return row


def _attached_servers(session: Session, volume_id: str) -> tuple[str, ...]:
    return tuple(
        str(uuid)
        for uuid in session.scalars(
            select(models.VolumeAttachment.instance_uuid).where(
                models.VolumeAttachment.volume_id == volume_id,
                models.VolumeAttachment.attach_status == "attached",
            )
        )
        if uuid
    )


def _type_name(session: Session, type_id: str | None) -> str | None:
    row = session.get(models.VolumeType, type_id) if type_id else None
    return row.name if row is not None else None


# -- extend -------------------------------------------------------------------------------------
def extend(
    deps: Deps,
    ctx: RequestContext,
    volume_id: str,
    new_size: int,
    *,
    rule: str,
    attached_rule: str | None,
) -> None:
    """Grow the volume (``attached_rule``: in-use volumes may grow too, 3.42)."""

    def tx(session: Session) -> tuple[str, ExtendSpec]:
        row = _load(session, ctx, volume_id, rule)
        attached = row.status == "in-use" and attached_rule is not None
        if attached and attached_rule:
            _rows.authorize_volume(ctx, attached_rule, row)
        if row.status != "available" and not attached:
            wanted = "'available' or 'in-use'" if attached_rule else "'available'"
            raise exception.InvalidVolume(
                reason=f"Volume {volume_id} status must be {wanted} to extend, currently "
                f"{row.status}."
            )
        if new_size <= row.size:
            raise exception.InvalidInput(
                reason=f"New size for extend must be greater than current size. "
                f"(current: {row.size}, extended: {new_size})."
            )
        if not row.host:
            raise exception.InvalidVolume(reason=f"Volume {volume_id} has no backend.")
        quotas.check_size_limit(session, deps.opts, row.project_id, new_size)
        delta = new_size - row.size
        type_name = _type_name(session, row.volume_type_id)
        deltas = {"gigabytes": delta}
        if type_name:
            deltas[f"gigabytes_{type_name}"] = delta
        reservations = quotas.reserve(session, deps.opts, row.project_id, deltas)
        servers = _attached_servers(session, volume_id) if attached else ()
        row.status = "extending"
        row.updated_at = utcnow()
        spec = ExtendSpec(volume_id, new_size, reservations, attached, servers)
        workers.begin(session, "Volume", volume_id, "extending", "extend", row.host, {
            "new_size": new_size, "reservations": list(reservations), "attached": attached,
            "instance_uuids": list(servers),
        })  # fmt: skip
        return row.host, spec

    host, spec = deps.db.write(tx)
    event = deps.watch(volume_id)
    deps.scheduler.extend_volume(CallContext.from_request(ctx), host, spec)
    deps.settle(volume_id, event)


# -- retype ------------------------------------------------------------------------------------
def retype(
    deps: Deps, ctx: RequestContext, volume_id: str, new_type: str, policy: str, rule: str
) -> None:
    """Change the volume's type; with ``policy`` ``never`` the volume's backend must
    satisfy the new type, with ``on-demand`` the scheduler may migrate the volume to a
    backend that does (``services/migration.py``)."""

    def tx(session: Session) -> tuple[str, RetypeSpec]:
        row = _load(session, ctx, volume_id, rule)
        if row.status not in ("available", "in-use"):
            raise exception.InvalidVolume(
                reason=f"Volume {volume_id} status must be available or in-use, but current "
                f"status is: {row.status}."
            )
        if not row.host:
            raise exception.InvalidVolume(reason=f"Volume {volume_id} has no backend.")
        viewer = volume_types.Viewer(ctx.project_id, ctx.is_admin)
        target = _rows.find_type_row(session, new_type, viewer)
        if target.id == row.volume_type_id:
            raise exception.InvalidInput(reason="New volume type must be different from the "
                                                "original volume type.")  # fmt: skip
        type_encryption.refuse_encrypted(session, target.id)
        to_multiattach = _rows.is_multiattach_type(session, target.id)
        if to_multiattach != bool(row.multiattach):
            if row.status != "available":  # the hypervisor side cannot change
                raise exception.InvalidInput(
                    reason="Invalid volume_type passed, retypes affecting multiattach are "
                    "only allowed on available volumes, the specified volume however "
                    f"currently has a status of: {row.status}."
                )
            if to_multiattach:
                _rows.authorize_volume(ctx, "volume:multiattach", row)
        old_name = _type_name(session, row.volume_type_id)
        deltas = {f"volumes_{target.name}": 1, f"gigabytes_{target.name}": row.size}
        if old_name:
            deltas[f"volumes_{old_name}"] = -1
            deltas[f"gigabytes_{old_name}"] = -row.size
        reservations = quotas.reserve(session, deps.opts, row.project_id, deltas)
        previous = row.status
        row.status = "retyping"
        row.updated_at = utcnow()
        workers.begin(session, "Volume", volume_id, "retyping", "retype", row.host, {
            "new_type_id": target.id, "reservations": list(reservations),
            "previous_status": previous, "migration_policy": policy,
        })  # fmt: skip
        return row.host, RetypeSpec(volume_id, target.id, reservations, previous, policy)

    host, spec = deps.db.write(tx)
    event = deps.watch(volume_id)
    deps.scheduler.retype(CallContext.from_request(ctx), host, spec)
    deps.settle(volume_id, event)


# -- flags and image metadata -------------------------------------------------------------------
def set_bootable(
    db: Database, ctx: RequestContext, volume_id: str, bootable: bool, rule: str
) -> None:
    def tx(session: Session) -> None:
        row = _load(session, ctx, volume_id, rule)
        if row.status == "maintenance":
            raise exception.InvalidVolume(reason="Volume is in maintenance.")
        row.bootable = bootable
        row.updated_at = utcnow()

    db.write(tx)


def set_admin_metadata(session: Session, volume_id: str, key: str, value: str) -> None:
    item = session.get(models.VolumeAdminMetadata, (volume_id, key))
    if item is None:
        session.add(models.VolumeAdminMetadata(volume_id=volume_id, key=key, value=value))
    else:
        item.value = value


def update_readonly(
    db: Database, ctx: RequestContext, volume_id: str, readonly: bool, rule: str
) -> None:
    def tx(session: Session) -> None:
        row = _load(session, ctx, volume_id, rule)
        if row.status != "available":
            raise exception.InvalidVolume(
                reason=f"Volume {volume_id} status must be available to update readonly "
                f"flag, but current status is: {row.status}."
            )
        set_admin_metadata(session, volume_id, "readonly", str(readonly))
        row.updated_at = utcnow()

    db.write(tx)


def _image_metadata(session: Session, volume_id: str) -> dict[str, str]:
    return dict(
        session.execute(
            select(models.VolumeGlanceMetadata.key, models.VolumeGlanceMetadata.value).where(
                models.VolumeGlanceMetadata.volume_id == volume_id
            )
        )
        .tuples()
        .all()
    )


def show_image_metadata(
    db: Database, ctx: RequestContext, volume_id: str, rule: str
) -> dict[str, str]:
    with db.reader() as session:
        row = _rows.visible_volume_row(session, ctx, volume_id)
        _rows.authorize_volume(ctx, rule, row)
        return _image_metadata(session, volume_id)


def set_image_metadata(
    db: Database, ctx: RequestContext, volume_id: str, metadata: dict[str, str], rule: str
) -> dict[str, str]:
    def tx(session: Session) -> dict[str, str]:
        row = _load(session, ctx, volume_id, rule)
        if row.status not in ("available", "in-use"):
            raise exception.InvalidVolume(
                reason=f"Volume status must be available or in-use, but is {row.status}."
            )
        for key, value in metadata.items():
            item = session.scalars(
                select(models.VolumeGlanceMetadata).where(
                    models.VolumeGlanceMetadata.volume_id == volume_id,
                    models.VolumeGlanceMetadata.key == key,
                )
            ).first()
            if item is None:
                session.add(models.VolumeGlanceMetadata(volume_id=volume_id, key=key, value=value))
            else:
                item.value = value
        session.flush()
        return _image_metadata(session, volume_id)

    return db.write(tx)


def unset_image_metadata(
    db: Database, ctx: RequestContext, volume_id: str, key: str, rule: str
) -> None:
    def tx(session: Session) -> None:
        _load(session, ctx, volume_id, rule)
        result = session.execute(
            delete(models.VolumeGlanceMetadata).where(
                models.VolumeGlanceMetadata.volume_id == volume_id,
                models.VolumeGlanceMetadata.key == key,
            )
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise exception.NotFound(
                f"Metadata key {key} not found in volume_glance_metadata of volume {volume_id}."
            )

    db.write(tx)


# -- reset status -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StatusReset:
    status: str | None = None
    attach_status: str | None = None
    migration_status: str | None = None


def reset_status(
    db: Database, ctx: RequestContext, volume_id: str, reset: StatusReset, rule: str
) -> None:
    """The admin's override: whatever the volume was doing is forgotten."""
    if reset.status is not None and reset.status.lower() not in VOLUME_STATUSES:
        raise exception.InvalidInput(reason=f"Invalid volume status {reset.status}")
    if reset.attach_status is not None and reset.attach_status.lower() not in ATTACH_STATUSES:
        raise exception.InvalidInput(reason=f"Invalid attach status {reset.attach_status}")
    if (
        reset.migration_status is not None
        and reset.migration_status.lower() not in MIGRATION_STATUSES
    ):
        raise exception.InvalidInput(reason=f"Invalid migration status {reset.migration_status}")
    if reset == StatusReset():
        raise exception.InvalidInput(reason="Must specify 'status', 'attach_status' or "
                                            "'migration_status' for update.")  # fmt: skip

    def tx(session: Session) -> None:
        row = _load(session, ctx, volume_id, rule)
        if reset.status is not None:
            if row.status == "extending":
                extend_completion.forget(session, volume_id)
            row.status = reset.status.lower()
            workers.finish(session, "Volume", volume_id)
        if reset.attach_status is not None:
            row.attach_status = reset.attach_status.lower()
        if reset.migration_status is not None:
            status = reset.migration_status.lower()
            row.migration_status = None if status == "none" else status
        row.updated_at = utcnow()

    db.write(tx)


# -- upload to image ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class UploadRequest:
    image_name: str
    force: bool = False
    disk_format: str = "raw"
    container_format: str = "bare"
    visibility: str | None = None
    protected: bool | None = None


@dataclass(frozen=True, slots=True)
class UploadStarted:
    volume: VolumeRecord
    image: dict[str, object]


def upload_to_image(
    deps: Deps, ctx: RequestContext, volume_id: str, req: UploadRequest, rule: str
) -> UploadStarted:
    """Create the image (as the caller), move the volume to ``uploading`` and cast the
    copy to its manager."""
    allowed = ("available", "in-use") if req.force else ("available",)
    with deps.db.reader() as session:
        row = _rows.visible_volume_row(session, ctx, volume_id)
        _rows.authorize_volume(ctx, rule, row)
        if row.status not in allowed:
            raise exception.InvalidVolume(
                reason=f"Volume {volume_id} status must be {' or '.join(allowed)}"
            )
        properties = {
            k: v for k, v in _image_metadata(session, volume_id).items()
            if k not in RESERVED_IMAGE_KEYS
        }  # fmt: skip
    body: dict[str, object] = {
        "name": req.image_name,
        "disk_format": req.disk_format,
        "container_format": req.container_format,
        **properties,
    }
    if req.visibility is not None:
        body["visibility"] = req.visibility
    if req.protected is not None:
        body["protected"] = req.protected
    try:
        image = deps.image.create(body, token=ctx.token)
    except ClientError as exc:
        raise exception.Invalid(f"Failed to create the image: {exc}") from None
    image_id = str(image["id"])

    def tx(session: Session) -> tuple[str, str]:
        vol = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
        if vol.status not in allowed or not vol.host:
            raise exception.InvalidVolume(
                reason=f"Volume {volume_id} status must be {' or '.join(allowed)}"
            )
        previous = vol.status
        vol.status = "uploading"
        vol.updated_at = utcnow()
        workers.begin(session, "Volume", volume_id, "uploading", "upload", vol.host, {
            "image_id": image_id, "previous_status": previous,
        })  # fmt: skip
        return vol.host, previous

    try:
        host, previous = deps.db.write(tx)
    except Exception:
        deps.image.delete(image_id, token=ctx.token)
        raise
    upload = ImageUpload(volume_id, image_id, req.disk_format, req.container_format, previous)
    deps.volumes.upload_image(CallContext.from_request(ctx), host, upload)
    with deps.db.reader() as session:
        record = _rows.volume_record(session, _rows.volume_row(session, volume_id))
    return UploadStarted(record, dict(image))
