"""What the backup service does when it starts: settle every backup operation it left
unfinished, then remove backup objects no backup row claims.

- a backup being created is ``error`` (its partial objects removed, its temporary
  snapshot and export released), its volume back to its status before (or its snapshot
  ``available``), as upstream resets them;
- a restore is abandoned: the backup ``available`` again, the volume ``error_restoring``
  (``error`` when it was created for the restore), since its data is half written;
- a delete is replayed (deleting objects is idempotent);
- an import is ``error`` (its record was not kept; import it again).

While the service runs, :func:`resume_lost` settles the same way every ``[volume]
lost_operation_age`` the operations recorded that long ago and not running (a message
or a write lost to a broker or database fault).

Objects are named after their backup (``volume_<vid>/az_<zone>_backup_<id>...``), so a
prefix whose backup no row has — nor any row's ``service_metadata``, which an imported
copy shares — is what a crash or a lost row left, and goes. Every driver's store is
searched (the directories, and the object store's containers the rows name plus the
default one); a store that cannot be reached now is skipped and searched at the next
start. The search runs once more 30 s after start (``worker.ORPHANS_AGAIN_AFTER``): an
object store can list an object written just before a crash only seconds later.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

from tinystack.common.rpc.context import CallContext
from tinystack.volume.backup.base import (
    BackupError,
    BackupHasDependents,
    BackupRef,
    ObjectNotFound,
)
from tinystack.volume.backup.ceph import CephBackupDriver
from tinystack.volume.backup.chunked import ChunkedBackupDriver
from tinystack.volume.backup.manager import BackupManager
from tinystack.volume.payloads import DeviceRequest
from tinystack.volume.services import backup_ops, workers

LOG = logging.getLogger(__name__)
PREFIX = re.compile(r"^(volume_([^/]+)/az_(.+)_backup_([0-9a-fA-F-]{36}))")
#: transient statuses; a backup in one with no operation record is settled too
TRANSIENT = ("creating", "restoring", "deleting")


def recover(manager: BackupManager, release: Callable[[DeviceRequest], None]) -> dict[str, int]:
    """Settle what this service left (``release`` frees a device on its volume's
    manager); returns counts for logs and tests."""
    db = manager.deps.db
    counts = {"failed": 0, "replayed": 0, "orphans": 0}
    ctx = CallContext.internal()
    for op in backup_ops.pending(db, manager.host):
        outcome = _settle(manager, release, op, "interrupted by a restart")
        if outcome:
            counts[outcome] += 1
    for backup_id in backup_ops.stuck(db, manager.host, TRANSIENT):
        backup = backup_ops.get(db, backup_id)
        if backup is None:
            continue
        LOG.warning("backup %s: %s without a record", backup_id, backup.status)
        if backup.status == "deleting":
            manager.delete(ctx, backup_id)
        else:
            status = "available" if backup.status == "restoring" else "error"
            backup_ops.set_status(db, backup_id, status, reason="interrupted by a restart")
        counts["failed"] += 1
    counts["orphans"] = remove_orphans(manager)
    return counts


def resume_lost(
    manager: BackupManager, release: Callable[[DeviceRequest], None], older_than: float
) -> int:
    """The periodic pass: the operations of this service recorded over ``older_than``
    seconds ago that no thread here runs (the backup's lock is free; the caller checks
    that no message waits for a thread) were lost to a broker or database fault; they
    are settled as at a restart. How many."""
    count = 0
    for op in backup_ops.pending(manager.deps.db, manager.host, older_than):
        if manager.lock(op.resource_id).locked():
            continue
        LOG.warning("backup %s: %s recorded %d s ago and not running: settling it",
                    op.resource_id, op.operation, older_than)  # fmt: skip
        if _settle(manager, release, op, "lost to a broker or database fault"):
            count += 1
    return count


def _settle(
    manager: BackupManager, release: Callable[[DeviceRequest], None], op: workers.Operation,
    reason: str,
) -> str | None:  # fmt: skip
    """Replay (a delete) or fail one operation: "replayed", "failed" or None (it
    could not be settled now)."""
    db = manager.deps.db
    ctx = CallContext.internal()
    backup = backup_ops.get(db, op.resource_id)
    if backup is None:
        backup_ops.set_status(db, op.resource_id, "error")
        return None
    try:
        if op.operation == "delete":
            manager.delete(ctx, backup.id)
            return "replayed"
        if op.operation == "create":
            release(_device(manager, backup, f"backup-{backup.id}", backup.volume_id))
            manager._remove_objects(backup)
            backup_ops.backup_failed(
                db, backup.id, f"incomplete backup reset: {reason}",
                request_id=ctx.request_id, ttl=manager.ttl,
            )  # fmt: skip
        elif op.operation == "restore":
            volume_id = str(op.args.get("volume_id") or backup.restore_volume_id or "")
            release(_device(manager, backup, f"restore-{backup.id}", volume_id, write=True))
            backup_ops.restored(
                db, backup.id, volume_id, {}, ok=False, request_id=ctx.request_id,
                ttl=manager.ttl,
            )  # fmt: skip
        else:
            backup_ops.set_status(db, backup.id, "error", reason=reason)
        return "failed"
    except Exception:
        LOG.exception("backup %s: recovering %s failed", backup.id, op.operation)
        return None
    finally:
        manager.deps.changed(backup.id)


def _device(
    manager: BackupManager, backup: backup_ops.BackupState, name: str, volume_id: str,
    write: bool = False,
) -> DeviceRequest:  # fmt: skip
    return DeviceRequest(
        attachment_id=name,
        volume_id=volume_id,
        connector_host=manager.host,
        snapshot_id=None if write else backup.snapshot_id,
        temp_snapshot_id=None if write else backup.temp_snapshot_id,
        write=write,
    )


def _containers(manager: BackupManager, driver: ChunkedBackupDriver) -> set[str]:
    opts = manager.deps.opts
    found = backup_ops.containers(manager.deps.db)
    found |= {opts.backup_container, opts.backup_swift_container}
    root = getattr(driver.store, "root", None)
    if isinstance(root, Path) and root.is_dir():
        found |= {e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith(".")}
    return found


def remove_orphans(manager: BackupManager) -> int:
    """Backup objects whose backup no row names (see the module docstring)."""
    count = 0
    for service, driver in manager.drivers.items():
        try:
            if isinstance(driver, CephBackupDriver):
                count += driver.remove_orphans(
                    lambda ids: backup_ops.existing_ids(manager.deps.db, ids)
                )
            else:
                count += _remove_orphans(manager, driver)
        except BackupError:
            LOG.warning("backup store %s unreachable; orphans left for now", service, exc_info=True)
    return count


def _remove_orphans(manager: BackupManager, driver: ChunkedBackupDriver) -> int:
    claimed = backup_ops.claimed_prefixes(manager.deps.db)
    count = 0
    for name in sorted(_containers(manager, driver)):
        try:
            container = driver.store.container(name, create=False)
            objects = container.list_objects("volume_")
        except (ObjectNotFound, ValueError):
            continue
        prefixes: dict[str, tuple[str, str]] = {}
        for obj in objects:
            match = PREFIX.match(obj)
            if match:
                prefixes[match[1]] = (match[4], match[2])
        unknown = {p: ids for p, ids in prefixes.items() if p not in claimed}
        rows = backup_ops.existing_ids(manager.deps.db, [b for b, _ in unknown.values()])
        for prefix, (backup_id, volume_id) in sorted(unknown.items()):
            if backup_id in rows:
                continue
            LOG.warning("backup objects %s/%s: no backup row claims them; removing", name, prefix)
            ref = BackupRef(backup_id, volume_id, name, service_metadata=prefix)
            try:
                driver.delete_backup(ref)
                count += 1
            except BackupHasDependents:
                LOG.info("orphan backup %s has dependents; kept", backup_id)
            except Exception:
                LOG.exception("orphan backup %s could not be removed", backup_id)
    return count
