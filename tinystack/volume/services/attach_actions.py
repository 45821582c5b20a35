"""The attach actions older clients and Tempest drive on ``POST /volumes/{id}/action``:
``os-reserve``, ``os-unreserve``, ``os-begin_detaching``, ``os-roll_detaching``,
``os-initialize_connection``, ``os-terminate_connection``, ``os-attach``, ``os-detach``
and the admin's ``os-force_detach``, with upstream's status checks and messages.

The legacy flow is reserve (``attaching``) → initialize_connection (an export for the
connector's host) → attach (the attachment ``attached``, the volume ``in-use``), and
begin_detaching → terminate_connection → detach. Each export belongs to an attachment
(the driver exports per attachment and a restart re-creates exactly the exports
attachments claim): ``os-initialize_connection`` records one ``attaching`` attachment
per host, which ``os-attach`` then completes, and ``os-terminate_connection`` removes
again if it was never attached.

Deleting an attachment still connected to a server is upstream's bug #2004555 check:
here a request by a service (the ``service`` role) or of an attachment without a server
or a connection passes, an unknown or ambiguous attachment is refused (409); whether
compute still uses a known one is not asked (compute sends no service token here).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.db import Database
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.volume import exception, models
from tinystack.volume.payloads import Connection
from tinystack.volume.services import _attach_state as state
from tinystack.volume.services import _rows
from tinystack.volume.services.attachments import connect
from tinystack.volume.services.deps import Deps

R = "volume_extension:volume_actions:"
RESERVE = R + "reserve"
UNRESERVE = R + "unreserve"
BEGIN_DETACHING = R + "begin_detaching"
ROLL_DETACHING = R + "roll_detaching"
INITIALIZE = R + "initialize_connection"
TERMINATE = R + "terminate_connection"
ATTACH = R + "attach"
DETACH = R + "detach"
FORCE_DETACH = "volume_extension:volume_admin_actions:force_detach"
#: migration statuses that do not stop a detach
_IDLE_MIGRATION = (None, "success", "error")


def _load(session: Session, ctx: RequestContext, volume_id: str, rule: str) -> models.Volume:
    row = _rows.visible_volume_row(session, ctx, volume_id, lock=True)
    ctx.can(rule, {"project_id": row.project_id, "user_id": row.user_id})
    return row


def _maintenance(volume: models.Volume, what: str) -> None:
    if volume.status == "maintenance":
        raise exception.InvalidVolume(reason=f"The volume {what} in maintenance mode.")


# -- reserve, unreserve, begin and roll back detaching -------------------------------------
def reserve(deps: Deps, ctx: RequestContext, volume_id: str) -> None:
    def tx(session: Session) -> None:
        row = _load(session, ctx, volume_id, RESERVE)
        allowed = ("available", "in-use") if row.multiattach else ("available",)
        if row.status not in allowed:
            raise exception.InvalidVolume(
                reason=f"Volume status must be {state.or_str(allowed)} to reserve, but the "
                f"status is {row.status}."
            )
        row.status = state.ATTACHING
        row.updated_at = utcnow()

    deps.db.write(tx)


def unreserve(deps: Deps, ctx: RequestContext, volume_id: str) -> None:
    """``attaching`` back to ``in-use`` (attached somewhere) or ``available``; any other
    status is left alone, as upstream."""

    def tx(session: Session) -> None:
        row = _load(session, ctx, volume_id, UNRESERVE)
        _unreserve(session, row)

    deps.db.write(tx)


def _unreserve(session: Session, row: models.Volume) -> None:
    if row.status != state.ATTACHING:
        return
    attached = any(a.attach_status == state.ATTACHED for a in state.attachments_of(session, row.id))
    row.status = "in-use" if attached else "available"
    row.updated_at = utcnow()


def begin_detaching(deps: Deps, ctx: RequestContext, volume_id: str) -> None:
    def tx(session: Session) -> None:
        row = _load(session, ctx, volume_id, BEGIN_DETACHING)
        if row.migration_status not in _IDLE_MIGRATION:
            return  # a migrating volume does not show it is detaching
        if row.status != "in-use" or row.attach_status != state.ATTACHED:
            raise exception.InvalidVolume(
                reason="Unable to detach volume. Volume status must be 'in-use' and "
                "attach_status must be 'attached' to detach."
            )
        row.status = state.DETACHING
        row.updated_at = utcnow()

    deps.db.write(tx)


def roll_detaching(deps: Deps, ctx: RequestContext, volume_id: str) -> None:
    def tx(session: Session) -> None:
        row = _load(session, ctx, volume_id, ROLL_DETACHING)
        if row.status == state.DETACHING:
            row.status = "in-use"
            row.updated_at = utcnow()

    deps.db.write(tx)


# -- connections -----------------------------------------------------------------------------
def initialize_connection(
    deps: Deps, ctx: RequestContext, volume_id: str, connector: JSON
) -> Connection:
    """Export the volume for the connector's host: its ``connection_info``."""
    if not isinstance(connector, dict) or not isinstance(connector.get("host"), str):
        raise exception.InvalidInput(reason="Connector doesn't have required information: host")
    host_name = str(connector["host"])

    def tx(session: Session) -> tuple[str, str | None, str | None]:
        row = _load(session, ctx, volume_id, INITIALIZE)
        _maintenance(row, "connection cannot be initialized")
        for att in state.attachments_of(session, row.id):
            if att.attached_host == host_name and att.attach_status in (
                state.ATTACHING, state.ATTACHED):  # fmt: skip
                return att.id, row.host, att.attach_mode
        att = state.new_attachment(session, row, status=state.ATTACHING)
        att.attached_host = host_name
        return att.id, row.host, None

    attachment_id, host, mode = deps.db.write(tx)
    mode = mode if mode in ("rw", "ro") else None
    try:
        connect(deps, ctx, attachment_id, volume_id, host, connector, mode, legacy=True)
    except Exception:
        _drop_unattached(deps, attachment_id)
        raise
    with deps.db.reader() as session:
        found = session.get(models.VolumeAttachment, attachment_id)
        info = dict(found.connection_info or {}) if found is not None else {}
    return _nested(attachment_id, info)


def _nested(attachment_id: str, info: dict[str, JSON]) -> Connection:
    """The stored (flat) connection info as ``driver_volume_type`` and ``data``."""
    kind = str(info.pop("driver_volume_type", ""))
    info.pop("attachment_id", None)
    return Connection(attachment_id=attachment_id, driver_volume_type=kind, data=info)


def _drop_unattached(deps: Deps, attachment_id: str) -> None:
    def tx(session: Session) -> None:
        row = session.get(models.VolumeAttachment, attachment_id)
        if row is not None and row.attach_status == state.ATTACHING and not row.connection_info:
            session.delete(row)

    deps.db.write(tx)


def terminate_connection(
    deps: Deps,
    ctx: RequestContext,
    volume_id: str,
    connector: JSON,
    *,
    rule: str = TERMINATE,
) -> None:
    """Remove the exports for the connector's host (no connector: all the volume's),
    then unreserve."""
    with deps.db.reader() as session:
        row = _rows.visible_volume_row(session, ctx, volume_id)
        ctx.can(rule, {"project_id": row.project_id, "user_id": row.user_id})
        _deletion_allowed(session, ctx, row, None)
        host = row.host
    connector_host = connector.get("host") if isinstance(connector, dict) else None
    if host:
        deps.volumes.terminate_connection(
            CallContext.from_request(ctx),
            host,
            volume_id,
            connector_host if isinstance(connector_host, str) else None,
        )

    def tx(session: Session) -> None:
        _unreserve(session, _rows.visible_volume_row(session, ctx, volume_id, lock=True))

    deps.db.write(tx)


# -- attach and detach -----------------------------------------------------------------------
def attach(
    deps: Deps,
    ctx: RequestContext,
    volume_id: str,
    *,
    instance_uuid: str | None,
    host_name: str | None,
    mountpoint: str,
    mode: str,
) -> None:
    """``os-attach``: record that the server (or host) uses the volume (``in-use``)."""

    def tx(session: Session) -> None:
        row = _load(session, ctx, volume_id, ATTACH)
        _maintenance(row, "cannot be attached")
        admin = state.admin_metadata(session, row.id)
        if admin.get(state.READONLY) == "True" and mode != "ro":
            raise _attach_error(exception.InvalidVolumeAttachMode(mode=mode, volume_id=row.id))
        if row.status == state.ATTACHING and admin.get(state.ATTACHED_MODE, mode) != mode:
            raise _attach_error(exception.InvalidVolume(reason="being attached by different mode"))
        attachments = state.attachments_of(session, row.id)
        for att in attachments:
            same = (att.instance_uuid == instance_uuid) if instance_uuid else (
                att.instance_uuid is None and att.attached_host == host_name)  # fmt: skip
            if same and att.attach_status == state.ATTACHED:
                row.status = "in-use"
                return
        if row.status == "in-use" and not row.multiattach and not row.migration_status:
            raise _attach_error(
                exception.InvalidVolume(
                    reason="volume is already attached and multiple attachments are not enabled"
                )
            )
        att = _adopt(attachments, host_name) or state.new_attachment(
            session, row, status=state.ATTACHING
        )
        now = utcnow()
        att.instance_uuid = instance_uuid
        att.attached_host = host_name or att.attached_host
        att.mountpoint = mountpoint
        att.attach_mode = mode
        att.attach_status = state.ATTACHED
        att.attach_time = now
        att.updated_at = now
        state.set_admin_metadata(session, row.id, state.ATTACHED_MODE, mode)
        row.status = "in-use"
        row.attach_status = state.ATTACHED
        row.updated_at = now

    deps.db.write(tx)
    deps.changed(volume_id)


def _adopt(
    attachments: list[models.VolumeAttachment], host_name: str | None
) -> models.VolumeAttachment | None:
    """The attachment ``os-initialize_connection`` made for this attach, if one fits."""
    pending = [a for a in attachments if a.attach_status == state.ATTACHING and not a.instance_uuid]
    if host_name:
        pending = [a for a in pending if a.attached_host == host_name] or pending
    return pending[0] if len(pending) == 1 or (host_name and pending) else None


def _attach_error(exc: exception.Invalid) -> exception.InvalidInput:
    return exception.InvalidInput(f"Error attaching volume - {type(exc).__name__}: {exc.message}")


def detach(
    deps: Deps,
    ctx: RequestContext,
    volume_id: str,
    attachment_id: str | None,
    *,
    rule: str = DETACH,
    error_prefix: str = "Error detaching volume",
) -> None:
    """``os-detach``: the attachment (its export too) goes; the volume follows."""

    def tx(session: Session) -> tuple[str | None, str | None]:
        row = _load(session, ctx, volume_id, rule)
        chosen = _deletion_allowed(session, ctx, row, attachment_id)
        _maintenance(row, "cannot be detached")
        if attachment_id is not None:
            if chosen is None or chosen.volume_id != row.id:
                # already gone (a service detaching again): the volume settles
                state.settle(session, row)
                return None, None
        else:
            attachments = state.attachments_of(session, row.id)
            if len(attachments) > 1:
                reason = "Detach volume failed: More than one attachment, but no " \
                    "attachment_id provided."  # fmt: skip
                raise exception.InvalidInput(
                    f"{error_prefix} - InvalidVolume: Invalid volume: {reason}"
                )
            if not attachments:
                row.status = "available"
                row.attach_status = state.DETACHED
                row.updated_at = utcnow()
                return None, None
            chosen = attachments[0]
        if chosen.connection_info is None or not row.host:
            state.remove(session, row, chosen.id)
            return None, None
        chosen.attach_status = state.DETACHING
        chosen.updated_at = utcnow()
        return chosen.id, row.host

    found, host = deps.db.write(tx)
    if found is not None and host is not None:
        deps.volumes.attachment_delete(CallContext.from_request(ctx), host, found)
    deps.changed(volume_id)


def force_detach(
    deps: Deps,
    ctx: RequestContext,
    volume_id: str,
    connector: JSON,
    attachment_id: str | None,
) -> None:
    """The admin's ``os-force_detach``: terminate the connection, then detach."""
    terminate_connection(deps, ctx, volume_id, connector, rule=FORCE_DETACH)
    detach(
        deps, ctx, volume_id, attachment_id, rule=FORCE_DETACH,
        error_prefix="Error force detaching volume",
    )  # fmt: skip


# -- bug #2004555 ----------------------------------------------------------------------------
def _deletion_allowed(
    session: Session,
    ctx: RequestContext,
    volume: models.Volume,
    attachment_id: str | None,
) -> models.VolumeAttachment | None:
    """The attachment a detach or terminate acts on (by id, or the volume's only one),
    if the caller may remove it: a service may remove anything, others an attachment
    they can name (whether compute still uses it is not asked). An attachment that
    cannot be told (unknown, or one of several) is refused with upstream's 409."""
    attachment: models.VolumeAttachment | None = None
    if attachment_id is None:
        attachments = state.attachments_of(session, volume.id)
        if not attachments:
            return None
        if len(attachments) == 1:
            attachment = attachments[0]
    else:
        attachment = session.get(models.VolumeAttachment, attachment_id)
    if "service" in ctx.roles:
        return attachment
    if attachment is None:
        raise exception.ConflictNovaUsingAttachment(instance_id="")
    if attachment.volume_id != volume.id:
        raise exception.InvalidInput(reason="Mismatched volume and attachment")
    return attachment


# -- os-reset_status -------------------------------------------------------------------------
def check_reset(db: Database, volume_id: str, status: str | None) -> None:
    """Upstream's refusal of ``in-use`` for a volume without attachments."""
    if status is None or status.lower() != "in-use":
        return
    with db.reader() as session:
        if not state.attachments_of(session, volume_id):
            raise exception.InvalidInput(
                "Cannot reset-state to in-use because volume does not have any attachments."
            )


def reset_detached(deps: Deps, ctx: RequestContext, volume_id: str) -> None:
    """``os-reset_status`` with ``attach_status: detached``: every attachment goes (its
    export on the backend too) and the volume settles, as upstream's
    ``_clean_volume_attachment``."""
    call = CallContext.from_request(ctx)

    def tx(session: Session) -> tuple[str | None, list[str]]:
        row = session.get(models.Volume, volume_id, with_for_update=True)
        if row is None:
            return None, []
        exported = []
        for att in state.attachments_of(session, volume_id):
            if att.connection_info is not None and row.host:
                att.attach_status = state.DETACHING
                exported.append(att.id)
            else:
                state.remove(session, row, att.id)
        state.set_admin_metadata(session, volume_id, state.ATTACHED_MODE, None)
        state.settle(session, row)
        return row.host, exported

    host, exported = deps.db.write(tx)
    for attachment_id in exported:
        assert host is not None
        deps.volumes.attachment_delete(call, host, attachment_id)
    deps.changed(volume_id)
