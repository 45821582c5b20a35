"""Instance rows: load, optimistic save on task_state/vm_state, faults, driver views."""

from __future__ import annotations

import traceback as tb
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.exceptions import TinystackError
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, models
from tinystack.compute.objects import VIF, FlavorMeta, ImageMeta, InstanceChanges, InstanceMeta
from tinystack.compute.services import _rows
from tinystack.compute.services.records import ServerRecord, server_record

_ANY = object()


class InstanceUpdates(InstanceChanges, total=False):
    """The columns of an instance a save writes: the agent's :class:`InstanceChanges` and
    those the API's actions change (``availability_zone`` may be a SQL expression)."""

    display_name: str
    display_description: str | None
    hostname: str
    access_ip_v4: str
    access_ip_v6: str
    auto_disk_config: bool
    image_ref: str
    user_metadata: dict[str, str]
    user_data: str | None
    trusted_certs: list[str] | None
    key_name: str | None
    key_data: str | None
    locked: bool
    locked_by: str | None
    locked_reason: str | None
    security_groups: list[str]
    request_spec: dict[str, Any]
    launched_on: str
    availability_zone: str | ColumnElement[str | None] | None


def get(db: Database, uuid: str, *, read_deleted: bool = False) -> ServerRecord:
    with db.reader() as session:
        return server_record(_rows.instance(session, uuid, read_deleted=read_deleted))


def save(
    db: Database,
    uuid: str,
    updates: InstanceUpdates | InstanceChanges,
    *,
    expected_task_state: Any = _ANY,
    expected_vm_state: Any = _ANY,
) -> ServerRecord:
    """Apply ``updates`` if the instance is in the expected states; return the new row.

    ``expected_*`` is one value or a list of values (``None`` included). A row in
    another state raises :class:`UnexpectedTaskState` (or
    :class:`UnexpectedDeleting` when it is being deleted) and changes nothing.
    """

    def write(session: Session) -> ServerRecord:
        return save_in(
            session,
            uuid,
            updates,
            expected_task_state=expected_task_state,
            expected_vm_state=expected_vm_state,
        )

    return db.write(write)


def _condition(column: Any, expected: Any) -> Any:
    values = list(expected) if isinstance(expected, list | tuple | set) else [expected]
    named = [v for v in values if v is not None]
    clause = column.in_(named) if named else None
    if None in values:
        clause = column.is_(None) if clause is None else (clause | column.is_(None))
    return clause


def save_in(
    session: Session,
    uuid: str,
    updates: InstanceUpdates | InstanceChanges,
    *,
    expected_task_state: Any = _ANY,
    expected_vm_state: Any = _ANY,
) -> ServerRecord:
    """Apply ``updates`` in ``session`` (as :func:`save`); the saved instance."""
    table = models.Instance
    values = {"updated_at": utcnow(), **updates}
    stmt = update(table).where(table.uuid == uuid, table.deleted.is_(False))
    if expected_task_state is not _ANY:
        stmt = stmt.where(_condition(table.task_state, expected_task_state))
    if expected_vm_state is not _ANY:
        stmt = stmt.where(_condition(table.vm_state, expected_vm_state))
    result = session.execute(stmt.values(**values).execution_options(synchronize_session=False))
    row = session.scalars(
        select(table).where(table.uuid == uuid).execution_options(populate_existing=True)
    ).first()
    if row is None or (row.deleted and not updates.get("deleted")):
        raise exception.InstanceNotFound(uuid)
    if getattr(result, "rowcount", 1) == 0:
        if row.task_state == "deleting":
            raise exception.UnexpectedDeleting(uuid, expected_task_state, row.task_state)
        raise exception.UnexpectedTaskState(uuid, expected_task_state, row.task_state)
    return server_record(row)


def add_fault(
    session: Session,
    uuid: str,
    error: BaseException | str,
    *,
    host: str | None = None,
    code: int | None = None,
    details: str | None = None,
) -> None:
    """Record why an instance failed, as upstream's instance faults do."""
    if isinstance(error, BaseException):
        message = getattr(error, "message", None) or str(error) or type(error).__name__
        if code is None:
            code = error.status if isinstance(error, TinystackError) else 500
        if details is None:
            details = "".join(tb.format_exception(error)) if code == 500 else message
        if code == 500 and not isinstance(error, TinystackError):
            message = type(error).__name__
            details = details or str(error)
    else:
        message = error
    session.add(
        models.InstanceFault(
            instance_uuid=uuid,
            code=code or 500,
            message=message[:255],
            details=details,
            host=host,
            created_at=utcnow(),
        )
    )


def vifs(instance: models.Instance | ServerRecord) -> list[VIF]:
    return [VIF.from_stored(vif) for vif in instance.network_info or []]


def image_meta(instance: models.Instance | ServerRecord) -> ImageMeta | None:
    if not instance.image_ref:
        return None
    props = instance.system_metadata.get("image_properties") or {}
    return ImageMeta(
        id=instance.image_ref,
        name=str(instance.system_metadata.get("image_name", "")),
        disk_format=instance.system_metadata.get("image_disk_format"),
        container_format=instance.system_metadata.get("image_container_format"),
        min_disk=int(instance.system_metadata.get("image_min_disk") or 0),
        min_ram=int(instance.system_metadata.get("image_min_ram") or 0),
        properties=dict(props),
    )


def meta(
    instance: models.Instance | ServerRecord, flavor: FlavorMeta | None = None
) -> InstanceMeta:
    """The driver's view of an instance (``flavor`` overrides its current flavor)."""
    return InstanceMeta(
        uuid=instance.uuid,
        name=instance_name(instance),
        hostname=instance.hostname or "",
        project_id=instance.project_id,
        user_id=instance.user_id,
        flavor=flavor or FlavorMeta.from_dict(instance.flavor),
        image=image_meta(instance),
        user_data=instance.user_data,
        key_data=instance.key_data,
        metadata=dict(instance.user_metadata or {}),
        display_name=instance.display_name or "",
        key_name=instance.key_name or "",
        availability_zone=instance.availability_zone or "",
        launch_index=int(instance.launch_index or 0),
        reservation_id=instance.reservation_id or "",
        security_groups=tuple(instance.security_groups or ()),
        internal_id=int(instance.id or 0),
        root_device_name=instance.root_device_name or "",
        task_state=instance.task_state,
        config_drive=instance.config_drive or "",
    )


def instance_name(instance: models.Instance | ServerRecord, template: str = "instance-%08x") -> str:
    try:
        return template % instance.id
    except (TypeError, ValueError):
        return f"instance-{instance.id:08x}"


#: system_metadata key of the password a guest posts to the metadata service
PASSWORD_KEY = "password"


def password(db: Database, uuid: str) -> str:
    """The password the guest posted (encrypted with its key by the guest), or ""."""
    return str((get(db, uuid).system_metadata or {}).get(PASSWORD_KEY) or "")


def set_password_once(db: Database, uuid: str, value: str) -> bool:
    """Store the guest's password unless one is set already; False if one was."""

    def write(session: Session) -> bool:
        row = session.scalars(
            select(models.Instance)
            .where(models.Instance.uuid == uuid, models.Instance.deleted.is_(False))
            .with_for_update()
        ).first()
        if row is None:
            raise exception.InstanceNotFound(uuid)
        sysmeta = dict(row.system_metadata or {})
        if sysmeta.get(PASSWORD_KEY):
            return False
        sysmeta[PASSWORD_KEY] = value
        save_in(session, uuid, {"system_metadata": sysmeta})
        return True

    return db.write(write)
