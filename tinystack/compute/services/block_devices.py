"""Block device mappings: the volumes of instances, as compute's database keeps them.

One row per volume of an instance (``block_device_mapping``); rows become
:class:`~tinystack.compute.objects.BlockDevice` records here and nowhere else. A new
mapping gets its device name (``/dev/vdX``) in the transaction that creates it; the table's
unique constraints (instance and volume, instance and device) make racing attaches fail
cleanly instead of sharing a volume or a device name.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tinystack.common.db import Database
from tinystack.common.timeutils import utcnow
from tinystack.compute import exception, models
from tinystack.compute.objects import BlockDevice, BlockDeviceChanges
from tinystack.compute.services import _rows

#: upstream's ``match_device``: a prefix (``/dev/vd``, ``/dev/xvd``, ``sd``...) and letters
DEVICE = re.compile(r"(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$")
DEFAULT_PREFIX = "/dev/vd"
#: a racing attach took the device name chosen: choose again this many times
RESERVE_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class NewVolume:
    """What a new mapping says about its volume (``reserve`` picks the device name)."""

    source_type: str = "volume"
    volume_id: str | None = None
    snapshot_id: str | None = None
    image_id: str | None = None
    volume_size: int | None = None
    volume_type: str | None = None
    boot_index: int | None = None
    device_name: str | None = None
    delete_on_termination: bool = False
    tag: str | None = None
    disk_bus: str | None = None
    device_type: str | None = None
    guest_format: str | None = None
    #: the reservation made for the instance (existing volumes at boot)
    attachment_id: str | None = None


def record(row: models.BlockDeviceMapping) -> BlockDevice:
    """The one place a mapping row becomes a :class:`BlockDevice`."""
    return BlockDevice(
        uuid=row.uuid,
        instance_uuid=row.instance_uuid,
        source_type=row.source_type,
        destination_type=row.destination_type,
        boot_index=row.boot_index,
        device_name=row.device_name,
        delete_on_termination=bool(row.delete_on_termination),
        volume_id=row.volume_id,
        snapshot_id=row.snapshot_id,
        image_id=row.image_id,
        volume_size=row.volume_size,
        volume_type=row.volume_type,
        disk_bus=row.disk_bus,
        device_type=row.device_type,
        guest_format=row.guest_format,
        tag=row.tag,
        attachment_id=row.attachment_id,
        connection_info=dict(row.connection_info) if row.connection_info else None,
    )


def _ordered(query: Any) -> Any:
    return query.order_by(models.BlockDeviceMapping.id)


# -- reads ------------------------------------------------------------------------------------
def list_for(db: Database, instance_uuid: str) -> list[BlockDevice]:
    """The instance's volumes, in the order they were mapped."""
    with db.reader() as session:
        return list_in(session, instance_uuid)


def list_in(session: Session, instance_uuid: str) -> list[BlockDevice]:
    rows = session.scalars(
        _ordered(
            select(models.BlockDeviceMapping).where(
                models.BlockDeviceMapping.instance_uuid == instance_uuid
            )
        )
    )
    return [record(row) for row in rows]


def list_for_many(db: Database, instance_uuids: Iterable[str]) -> dict[str, list[BlockDevice]]:
    """instance uuid -> its volumes (the server list renders them for a whole page)."""
    wanted = list(dict.fromkeys(instance_uuids))
    found: dict[str, list[BlockDevice]] = {}
    if not wanted:
        return found
    with db.reader() as session:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = session.scalars(
                _ordered(
                    select(models.BlockDeviceMapping).where(
                        models.BlockDeviceMapping.instance_uuid.in_(chunk)
                    )
                )
            )
            for row in rows:
                found.setdefault(row.instance_uuid, []).append(record(row))
    return found


def find(db: Database, instance_uuid: str, volume_id: str) -> BlockDevice:
    """The mapping of ``volume_id`` on the instance (VolumeBDMNotFound)."""
    with db.reader() as session:
        row = _row(session, instance_uuid, volume_id)
        return record(row)


def _row(session: Session, instance_uuid: str, volume_id: str) -> models.BlockDeviceMapping:
    row = session.scalars(
        select(models.BlockDeviceMapping).where(
            models.BlockDeviceMapping.instance_uuid == instance_uuid,
            models.BlockDeviceMapping.volume_id == volume_id,
        )
    ).first()
    if row is None:
        raise exception.VolumeBDMNotFound(volume_id)
    return row


def _by_uuid(session: Session, bdm_uuid: str) -> models.BlockDeviceMapping:
    row = session.scalars(
        select(models.BlockDeviceMapping).where(models.BlockDeviceMapping.uuid == bdm_uuid)
    ).first()
    if row is None:
        raise exception.VolumeBDMNotFound(bdm_uuid)
    return row


def instances_using(db: Database, volume_id: str) -> list[str]:
    """The (not deleted) instances with a mapping of ``volume_id``."""
    with db.reader() as session:
        rows = session.execute(
            select(models.BlockDeviceMapping.instance_uuid)
            .join(
                models.Instance,
                models.Instance.uuid == models.BlockDeviceMapping.instance_uuid,
            )
            .where(
                models.BlockDeviceMapping.volume_id == volume_id,
                models.Instance.deleted.is_(False),
            )
        )
        return [str(uuid) for (uuid,) in rows]


def is_volume_backed(db: Database, instance_uuid: str) -> bool:
    return any(b.is_root for b in list_for(db, instance_uuid))


# -- device names -----------------------------------------------------------------------------
def letters(index: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa (as disk names count)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(97 + rest) + name
    return name


def _index(suffix: str) -> int:
    value = 0
    for char in suffix:
        value = value * 26 + (ord(char) - 96)
    return value - 1


def valid_device(name: str) -> bool:
    return DEVICE.match(name) is not None


def next_device_name(used: Iterable[str], prefix: str = DEFAULT_PREFIX) -> str:
    """The first ``/dev/vdX`` whose letters no used device name has (whatever its prefix)."""
    taken = set()
    for name in used:
        match = DEVICE.match(name or "")
        if match:
            taken.add(_index(match.group(2)))
    index = 0
    while index in taken:
        index += 1
    return prefix + letters(index)


def local_devices(inst: models.Instance, volume_backed: bool) -> set[str]:
    """The device names the instance's own disks take: the root disk (unless a volume is
    the root), then the flavor's ephemeral and swap disks, in the driver's order."""
    flavor = inst.flavor or {}
    count = (
        int(not volume_backed)
        + int(bool(flavor.get("ephemeral_gb")))
        + int(bool(flavor.get("swap")))
    )
    root = inst.root_device_name or DEFAULT_PREFIX + "a"
    match = DEVICE.match(root)
    prefix, first = (match.group(1), _index(match.group(2))) if match else (DEFAULT_PREFIX, 0)
    if volume_backed:
        first += 1
    return {prefix + letters(first + n) for n in range(count)}


# -- writes -----------------------------------------------------------------------------------
def _new_row(instance_uuid: str, new: NewVolume, device: str | None) -> models.BlockDeviceMapping:
    return models.BlockDeviceMapping(
        uuid=str(uuidlib.uuid4()),
        instance_uuid=instance_uuid,
        source_type=new.source_type,
        destination_type="volume",
        boot_index=new.boot_index,
        device_name=device,
        delete_on_termination=new.delete_on_termination,
        volume_id=new.volume_id,
        snapshot_id=new.snapshot_id,
        image_id=new.image_id,
        volume_size=new.volume_size,
        volume_type=new.volume_type,
        disk_bus=new.disk_bus,
        device_type=new.device_type,
        guest_format=new.guest_format,
        tag=new.tag,
        attachment_id=new.attachment_id,
        created_at=utcnow(),
    )


def add_in(session: Session, instance_uuid: str, new: NewVolume) -> None:
    """A mapping with the device name it asks for (a new server's, in its create
    transaction: nothing else maps its devices yet)."""
    session.add(_new_row(instance_uuid, new, new.device_name))


def reserve(db: Database, instance_uuid: str, new: NewVolume) -> BlockDevice:
    """Map a volume to an existing instance, with the device asked for or the next free.

    InvalidVolume when the instance already has the volume, DevicePathInUse when the
    device asked for is taken. A racing attach that took the same free name makes this
    choose again.
    """
    for attempt in range(1, RESERVE_ATTEMPTS + 1):
        try:
            return db.write(lambda session: _reserve_in(session, instance_uuid, new))
        except IntegrityError:
            if new.volume_id and _has_volume(db, instance_uuid, new.volume_id):
                raise exception.InvalidVolume(f"volume {new.volume_id} already attached") from None
            if new.device_name or attempt == RESERVE_ATTEMPTS:
                raise exception.DevicePathInUse(new.device_name or "") from None
    raise AssertionError("unreachable")


def _has_volume(db: Database, instance_uuid: str, volume_id: str) -> bool:
    try:
        find(db, instance_uuid, volume_id)
    except exception.VolumeBDMNotFound:
        return False
    return True


def _reserve_in(session: Session, instance_uuid: str, new: NewVolume) -> BlockDevice:
    inst = _rows.instance(session, instance_uuid)
    existing = list_in(session, instance_uuid)
    if new.volume_id and any(b.volume_id == new.volume_id for b in existing):
        raise exception.InvalidVolume(f"volume {new.volume_id} already attached")
    volume_backed = any(b.is_root for b in existing)
    used = local_devices(inst, volume_backed) | {b.device_name for b in existing if b.device_name}
    device = new.device_name
    if device:
        match = DEVICE.match(device)
        if match is None:
            raise exception.InvalidDevicePath(device)
        if match.group(2) in {m.group(2) for u in used if (m := DEVICE.match(u))}:
            raise exception.DevicePathInUse(device)
    else:
        prefix = DEFAULT_PREFIX
        root = DEVICE.match(inst.root_device_name or "")
        if root:
            prefix = root.group(1)
        device = next_device_name(used, prefix)
    row = _new_row(instance_uuid, new, device)
    session.add(row)
    session.flush()
    return record(row)


def update(db: Database, bdm_uuid: str, changes: BlockDeviceChanges) -> BlockDevice:
    def write(session: Session) -> BlockDevice:
        row = _by_uuid(session, bdm_uuid)
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
        return record(row)

    return db.write(write)


def destroy(db: Database, bdm_uuid: str) -> None:
    db.write(
        lambda session: session.execute(
            sql_delete(models.BlockDeviceMapping).where(models.BlockDeviceMapping.uuid == bdm_uuid)
        )
    )
