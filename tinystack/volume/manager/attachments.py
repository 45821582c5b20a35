"""The manager's side of attachments: exports made and removed through the driver, and
what a restart finds.

An RPC endpoint beside :class:`~tinystack.volume.manager.manager.VolumeManager` on the
backend's ``cinder-volume`` server, sharing its per-volume locks (an attach never runs
beside an extend or a delete of the same volume):

- ``attachment_update(spec)``: the driver exports the volume for the attachment's
  connector (one export per attachment), the manager adds what upstream's
  ``_parse_connection_options`` adds (the type's front-end QoS specs, ``access_mode``,
  ``encrypted``, ``cacheable``) and records the connection on the attachment
  (``attaching``) in one transaction; returns the :class:`Connection`;
- ``attachment_delete(attachment_id)``: the export goes, then the attachment, and the
  volume takes the status its remaining attachments give it;
- ``terminate_connection(volume_id, connector_host)``: the legacy action — the exports
  for that host go; attachments that never got attached go with them.

:func:`recover` runs when the manager starts: attachments a kill left ``detaching`` are
deleted, ``attaching`` ones become ``attached`` when they were exported for a server
(the guest may use the disk) or are deleted otherwise, volumes left ``attaching`` or
``detaching`` take the status their attachments give them, and the driver keeps exactly
the exports that attachments claim (re-creating missing ones).
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from functools import partial
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.rpc import Target
from tinystack.common.rpc.payload import JSON
from tinystack.volume import exception, models, rpcapi
from tinystack.volume.drivers.base import ConnectionInfo, Connector, VolumeDriver, VolumeRef
from tinystack.volume.drivers.errors import BackendError, VolumeBusy
from tinystack.volume.payloads import AttachmentConnect, Connection
from tinystack.volume.services import _attach_state as state
from tinystack.volume.services import connection_options
from tinystack.volume.services.deps import Deps

LOG = logging.getLogger(__name__)


class Locking(Protocol):
    """What this endpoint needs of the volume manager it sits beside."""

    @property
    def deps(self) -> Deps: ...

    @property
    def driver(self) -> VolumeDriver: ...

    @property
    def backend(self) -> str:
        """``host@backend``"""
        ...

    def lock(self, resource_id: str) -> AbstractContextManager[Any]: ...


def connector_of(raw: dict[str, JSON]) -> Connector:
    """os-brick's connector as the driver contract types it; InvalidInput without a host
    (the file driver tells local from remote hosts by it)."""
    host = raw.get("host")
    if not isinstance(host, str) or not host:
        raise exception.InvalidInput(reason="Connector doesn't have required information: host")
    return Connector(
        host=host,
        ip=_opt(raw.get("ip")),
        initiator=_opt(raw.get("initiator")),
        multipath=bool(raw.get("multipath")),
        platform=_opt(raw.get("platform")),
        os_type=_opt(raw.get("os_type")),
    )


def _opt(value: JSON) -> str | None:
    return None if value is None else str(value)


def flat(connection: Connection) -> dict[str, JSON]:
    """The connection as an attachment stores and shows it: the driver's data with
    ``driver_volume_type`` and ``attachment_id`` beside it (upstream's flattening)."""
    info: dict[str, JSON] = dict(connection.data)
    info["driver_volume_type"] = connection.driver_volume_type
    info["attachment_id"] = connection.attachment_id
    info.setdefault("enforce_multipath", False)
    return info


class AttachmentManager:
    target = Target(rpcapi.VOLUME_TOPIC, version=rpcapi.VOLUME_VERSION)

    def __init__(self, manager: Locking) -> None:
        self.manager = manager

    @property
    def deps(self) -> Deps:
        return self.manager.deps

    @property
    def driver(self) -> VolumeDriver:
        return self.manager.driver

    # -- RPC -----------------------------------------------------------------------------------
    def attachment_update(self, ctxt: rpcapi.RPCContext, spec: JSON) -> JSON:
        del ctxt
        return self.connect(AttachmentConnect.from_primitive(spec)).to_primitive()

    def attachment_delete(self, ctxt: rpcapi.RPCContext, attachment_id: str) -> None:
        del ctxt
        self.detach(attachment_id)

    def terminate_connection(
        self, ctxt: rpcapi.RPCContext, volume_id: str, connector_host: str | None
    ) -> None:
        del ctxt
        self.disconnect(volume_id, connector_host)

    # -- operations ----------------------------------------------------------------------------
    def connect(self, spec: AttachmentConnect) -> Connection:
        """Export the volume for the attachment and record the connection."""
        connector = connector_of(spec.connector)
        with self.manager.lock(spec.volume_id):
            with self.deps.db.reader() as session:
                row = state.attachment_row(session, spec.attachment_id)
                volume = _volume(session, row.volume_id)
                if row.attach_status == state.DETACHING:
                    raise exception.ResourceConflict(reason=f"attachment {row.id} is being deleted")
                ref = VolumeRef(volume.id, volume.size, volume.provider_location)
                mode = spec.mode or _text(spec.connector.get("mode"))
                if mode not in ("rw", "ro"):
                    mode = "ro" if state.readonly(session, volume.id) else "rw"
                options = connection_options.build(session, volume, mode)
            try:
                info = self.driver.initialize_connection(ref, connector, spec.attachment_id)
            except VolumeBusy as exc:
                raise exception.InvalidVolume(reason=str(exc)) from exc
            except BackendError as exc:
                LOG.exception("volume %s: export for %s failed", volume.id, spec.attachment_id)
                raise exception.VolumeBackendError(
                    data=f"Driver initialize connection failed (error: {exc})."
                ) from exc
            connection = _connection(spec, info, options)
            try:
                self.deps.db.write(lambda s: self._record(s, spec, connection, mode))
            except exception.VolumeAttachmentNotFound:
                # deleted meanwhile (by a restart's recovery or an admin): no export stays
                self._terminate(ref, spec.attachment_id)
                raise
        return connection

    @staticmethod
    def _record(
        session: Session, spec: AttachmentConnect, connection: Connection, mode: str
    ) -> None:
        row = state.attachment_row(session, spec.attachment_id, lock=True)
        state.connected(
            session,
            row,
            connector=spec.connector,
            connection_info=flat(connection),
            mode=mode,
            legacy=spec.legacy,
        )

    def detach(self, attachment_id: str) -> None:
        """Remove the attachment's export and the attachment (idempotent)."""
        with self.deps.db.reader() as session:
            found = session.get(models.VolumeAttachment, attachment_id)
            volume_id = found.volume_id if found is not None else None
        if volume_id is None:
            return
        with self.manager.lock(volume_id):
            with self.deps.db.reader() as session:
                volume = _volume(session, volume_id)
                ref = VolumeRef(volume.id, volume.size, volume.provider_location)
            self._terminate(ref, attachment_id, strict=True)

            def finish(session: Session) -> None:
                row = session.get(models.Volume, volume_id, with_for_update=True)
                if row is not None:
                    state.remove(session, row, attachment_id)

            self.deps.db.write(finish)
        self.deps.changed(volume_id)

    def disconnect(self, volume_id: str, connector_host: str | None) -> None:
        """The legacy ``os-terminate_connection``: remove the exports made for
        ``connector_host`` (None: all of the volume's); an attachment that was never
        attached goes too, an attached one keeps its row without a connection."""
        with self.manager.lock(volume_id):
            with self.deps.db.reader() as session:
                volume = _volume(session, volume_id)
                ref = VolumeRef(volume.id, volume.size, volume.provider_location)
                ids = [
                    row.id
                    for row in state.attachments_of(session, volume_id)
                    if row.connection_info is not None
                    and (connector_host is None or row.attached_host == connector_host)
                ]
            for attachment_id in ids:
                self._terminate(ref, attachment_id, strict=True)

            def forget(session: Session) -> None:
                for attachment_id in ids:
                    row = session.get(models.VolumeAttachment, attachment_id)
                    if row is None:
                        continue
                    if row.attach_status == state.ATTACHING and row.instance_uuid is None:
                        session.delete(row)
                    else:
                        row.connection_info = None

            self.deps.db.write(forget)

    def _terminate(self, ref: VolumeRef, attachment_id: str, *, strict: bool = False) -> None:
        try:
            self.driver.terminate_connection(ref, attachment_id)
        except BackendError as exc:
            LOG.exception("volume %s: removing export %s failed", ref.id, attachment_id)
            if strict:
                raise exception.VolumeBackendError(
                    data=f"Terminate volume connection failed: {exc}"
                ) from exc


def _volume(session: Session, volume_id: str) -> models.Volume:
    row = session.get(models.Volume, volume_id)
    if row is None:
        raise exception.VolumeNotFound(volume_id=volume_id)
    return row


def _text(value: JSON) -> str | None:
    return value if isinstance(value, str) else None


def _connection(
    spec: AttachmentConnect, info: ConnectionInfo, options: dict[str, JSON]
) -> Connection:
    data: dict[str, JSON] = {**info.data, **options}
    data.setdefault("enforce_multipath", bool(spec.connector.get("enforce_multipath", False)))
    return Connection(
        attachment_id=spec.attachment_id,
        driver_volume_type=info.driver_volume_type,
        data=data,
    )


# -- restart ----------------------------------------------------------------------------------
def recover(manager: Locking) -> dict[str, int]:
    """Settle what a kill left of this backend's attachments and make the driver's exports
    match them; returns counts (for logs and tests)."""
    endpoint = AttachmentManager(manager)
    db = manager.deps.db
    counts = {"detached": 0, "attached": 0, "dropped": 0, "settled": 0, "exports": 0}
    with db.reader() as session:
        rows = [
            (row.id, row.attach_status, row.instance_uuid, row.connection_info)
            for row in _attachments_on(session, manager.backend)
        ]
    for attachment_id, status, instance, info in rows:
        try:
            if status == state.DETACHING:
                endpoint.detach(attachment_id)
                counts["detached"] += 1
            elif status == state.ATTACHING and info is not None and instance is not None:
                db.write(partial(_mark_attached, attachment_id=attachment_id))
                counts["attached"] += 1
            elif status == state.ATTACHING:
                endpoint.detach(attachment_id)
                counts["dropped"] += 1
        except Exception:
            LOG.exception("attachment %s: settling after the restart failed", attachment_id)
    counts["settled"] = db.write(lambda s: _settle_stuck(s, manager.backend))
    counts["exports"] = reconcile_exports(endpoint)
    return counts


def _attachments_on(session: Session, backend: str) -> list[models.VolumeAttachment]:
    """The attachments of the volumes this backend holds (``host@backend#pool``)."""
    query = (
        select(models.VolumeAttachment, models.Volume.host)
        .join(models.Volume, models.Volume.id == models.VolumeAttachment.volume_id)
        .where(models.Volume.host.is_not(None))
        .order_by(models.VolumeAttachment.created_at)
    )
    return [row for row, host in session.execute(query) if rpcapi.backend_of(host or "") == backend]


def _mark_attached(session: Session, attachment_id: str) -> None:
    row = session.get(models.VolumeAttachment, attachment_id)
    if row is None or row.attach_status != state.ATTACHING:
        return
    LOG.warning("attachment %s was exported when the service stopped: attached", row.id)
    row.attach_status = state.ATTACHED
    volume = session.get(models.Volume, row.volume_id, with_for_update=True)
    if volume is not None:
        state.settle(session, volume)


def _settle_stuck(session: Session, backend: str) -> int:
    """Volumes of this backend left ``attaching``/``detaching`` take the status their
    attachments give them."""
    stuck = session.scalars(
        select(models.Volume).where(
            models.Volume.status.in_((state.ATTACHING, state.DETACHING)),
            models.Volume.host.is_not(None),
        )
    ).all()
    count = 0
    for volume in stuck:
        if rpcapi.backend_of(volume.host or "") != backend:
            continue
        LOG.warning("volume %s was %s when the service stopped: settled", volume.id, volume.status)
        state.settle(session, volume)
        if volume.status in (state.ATTACHING, state.DETACHING):
            # the attachments themselves are stable: only the legacy reserve or begin_detaching
            # put the volume there
            volume.status = "in-use" if volume.attach_status == state.ATTACHED else "available"
        count += 1
    return count


def reconcile_exports(endpoint: AttachmentManager) -> int:
    """The driver keeps exactly the exports attachments claim; returns how many exports
    were removed or re-created."""
    db = endpoint.deps.db
    with db.reader() as session:
        claimed = {
            row.id: (row.volume_id, dict(row.connector or {}), row.attach_mode)
            for row in _attachments_on(session, endpoint.manager.backend)
            if row.connection_info is not None
        }
    driver = endpoint.driver
    existing = set(driver.exports())
    changed = len(existing - set(claimed))
    reconcile = getattr(driver, "reconcile", None)
    if callable(reconcile):
        reconcile(set(claimed))
    else:
        for attachment_id in existing - set(claimed):
            endpoint._terminate(VolumeRef("", 0), attachment_id)
    for attachment_id in set(claimed) - existing:
        volume_id, connector, mode = claimed[attachment_id]
        LOG.warning("attachment %s had lost its export: exporting again", attachment_id)
        kept = mode if mode in ("rw", "ro") else None
        try:
            endpoint.connect(
                AttachmentConnect(attachment_id, volume_id, connector, kept, legacy=True)
            )
        except Exception:
            LOG.exception("attachment %s: exporting again failed", attachment_id)
        changed += 1
    return changed
