"""What a manager does when it starts: finish or fail every operation its backend left
unfinished (the ``workers`` records), fail any volume still in a transient status with no
record, and delete backend volumes no database row claims.

While the manager runs, :func:`resume_lost` replays every ``[volume]
lost_operation_age`` the operations of its backend that are recorded but not running
(lost to a broker or database fault). Creates, deletes, extends, retypes and re-images
are replayed (the driver's calls are idempotent,
and each operation re-checks the volume's status first); a migration to this backend
not yet started runs, one started is failed (``manager/migration.py``; at a start every
one is failed, its partial copy deleted); an upload is failed (the volume
back to its status before, the half-filled image deleted). Operations of other resources
(snapshots, backups, attachments) are left to the code that owns them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from tinystack.common.rpc import Target
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.volume import rpcapi
from tinystack.volume.drivers.base import VolumeRef
from tinystack.volume.manager import manageable, migration
from tinystack.volume.manager.manager import VolumeManager
from tinystack.volume.manager.reimage import ReimageManager
from tinystack.volume.payloads import CleanupSpec, ExtendSpec, MigrateSpec, RetypeSpec
from tinystack.volume.services import (
    extend_completion,
    messages,
    reimage,
    volume_ops,
    volumes,
    workers,
)
from tinystack.volume.services import migration as migrations
from tinystack.volume.services.workers import Operation

LOG = logging.getLogger(__name__)
#: statuses this module settles when no operation record claims them
OWN_STATUSES = (
    "creating", "deleting", "extending", "downloading", "uploading", "retyping", "managing",
    "unmanaging",
)  # fmt: skip


def recover(manager: VolumeManager) -> dict[str, int]:
    """Replay or fail what the backend left; returns counts (for logs and tests)."""
    deps = manager.deps
    counts = {"replayed": 0, "failed": 0, "orphans": 0}
    for op in workers.pending(deps.db, manager.backend):
        if op.resource_type != "Volume":
            continue
        try:
            counts[_settle(manager, op)] += 1
        except Exception:
            LOG.exception("volume %s: recovering %s failed", op.resource_id, op.operation)
    for volume_id in volume_ops.unowned(deps.db, manager.backend, OWN_STATUSES):
        LOG.warning("volume %s: left in a transient status without a record: error", volume_id)
        volume_ops.set_status(deps.db, volume_id, "error", expected=OWN_STATUSES)
        counts["failed"] += 1
    counts["orphans"] = delete_orphans(manager)
    return counts


#: operations a running manager may replay (each re-checks its volume under its lock)
REPLAYABLE = ("create", "delete", "extend", "retype", "reimage")


class CleanupManager:
    """``do_cleanup``: ``POST /workers/cleanup`` reaching this running backend."""

    target = Target(rpcapi.VOLUME_TOPIC, version=rpcapi.VOLUME_VERSION)

    def __init__(self, manager: VolumeManager) -> None:
        self.manager = manager

    def do_cleanup(self, ctxt: rpcapi.RPCContext, spec: JSON) -> None:
        del ctxt
        cleanup(self.manager, CleanupSpec.from_primitive(spec))


def cleanup(manager: VolumeManager, spec: CleanupSpec) -> int:
    """Replay the volume operations recorded before ``spec.until`` (uploads and
    attachments are left alone: they cannot be told from ones still running)."""
    until = datetime.fromisoformat(spec.until)
    endpoint = manageable.ManageableManager(manager)
    count = 0
    for op in workers.pending(manager.deps.db, manager.backend):
        if spec.resource_type and op.resource_type != spec.resource_type:
            continue
        if spec.resource_id and op.resource_id != spec.resource_id:
            continue
        if op.resource_type != "Volume" or (op.updated_at or op.created_at) > until:
            continue
        try:
            if op.operation in REPLAYABLE:
                _settle(manager, op)
            elif op.operation == "manage":
                endpoint.manage(manageable.manage_spec(op))
            elif op.operation == "unmanage":
                endpoint.release(op.resource_id)
            else:
                continue
            count += 1
        except Exception:
            LOG.exception("volume %s: cleaning up %s failed", op.resource_id, op.operation)
    return count


def resume_lost(manager: VolumeManager, older_than: float) -> int:
    """The periodic pass: replay this backend's volume operations recorded over
    ``older_than`` seconds ago that no thread here is running (the volume's lock is
    free): their message was lost to a broker fault, or their last write to a database
    fault, and nothing else would ever finish them. An extend waiting for compute's
    completion and an upload are not lost, only slow; they are left alone."""
    count = 0
    for op in workers.pending(manager.deps.db, manager.backend, older_than):
        if op.resource_type != "Volume" or op.operation not in (*REPLAYABLE, "migrate"):
            continue
        if manager.lock(op.resource_id).locked():
            continue
        if op.operation == "migrate":
            LOG.warning("volume %s: migration recorded %d s ago and not running: resuming it",
                        op.resource_id, older_than)  # fmt: skip
            try:
                migration.resume_lost(manager, MigrateSpec.from_primitive(op.args))
                count += 1
            except Exception:
                LOG.exception("volume %s: resuming its migration failed", op.resource_id)
            continue
        if op.operation == "extend" and extend_completion.waiting(manager.deps.db, op.resource_id):
            continue
        LOG.warning("volume %s: %s recorded %d s ago and not running: replaying it",
                    op.resource_id, op.operation, older_than)  # fmt: skip
        try:
            _settle(manager, op)
            count += 1
        except Exception:
            LOG.exception("volume %s: replaying %s failed", op.resource_id, op.operation)
            continue
        if workers.get(manager.deps.db, "Volume", op.resource_id) == op:
            # the replay found the volume no longer in the operation's status: moot
            LOG.info("volume %s: %s no longer applies: forgotten", op.resource_id, op.operation)
            volume_ops.forget_operation(manager.deps.db, "Volume", op.resource_id)
    return count


def _settle(manager: VolumeManager, op: Operation) -> str:
    deps = manager.deps
    ctx = CallContext.internal()
    args = op.args
    if op.operation == "create":
        spec = volumes.spec_of(deps.db, op.resource_id)
        if spec is None:
            volume_ops.forget_operation(deps.db, "Volume", op.resource_id)
            return "failed"
        manager.create(ctx, spec)
        return "replayed"
    if op.operation == "delete":
        manager.delete(op.resource_id)
        return "replayed"
    if op.operation == "extend":
        manager.extend(
            ctx,
            ExtendSpec(
                volume_id=op.resource_id,
                new_size=int(str(args.get("new_size", 0))),
                reservations=tuple(str(r) for r in _list(args.get("reservations"))),
                attached=bool(args.get("attached")),
                instance_uuids=tuple(str(i) for i in _list(args.get("instance_uuids"))),
            ),
        )
        return "replayed"
    if op.operation == "retype":
        manager.retype(
            ctx.to_dict(),
            RetypeSpec(
                volume_id=op.resource_id,
                new_type_id=str(args.get("new_type_id")),
                reservations=tuple(str(r) for r in _list(args.get("reservations"))),
                previous_status=str(args.get("previous_status") or "available"),
            ).to_primitive(),
        )
        return "replayed"
    if op.operation == "migrate":
        migration.recover(manager, MigrateSpec.from_primitive(args))
        return "failed"
    if op.operation == "reimage":
        ReimageManager(manager).run(ctx, reimage.spec_of(args))
        return "replayed"
    if op.operation == "upload":
        image_id = str(args.get("image_id") or "")
        if image_id:
            manager.images.discard(ctx, image_id)
        volume_ops.mark_failed(
            deps.db,
            op.resource_id,
            status=str(args.get("previous_status") or "available"),
            action=messages.COPY_VOLUME_TO_IMAGE,
            detail=messages.FAILED_TO_UPLOAD_VOLUME,
            request_id=ctx.request_id,
            ttl=int(deps.opts.message_ttl),
        )
        return "failed"
    return "failed" if _fail_unknown(manager, op) else "replayed"


def _fail_unknown(manager: VolumeManager, op: Operation) -> bool:
    """An operation this module does not own (attach, backup, ...): left to its owner."""
    LOG.info("volume %s: %s left to its owner", op.resource_id, op.operation)
    del manager
    return False


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []


def delete_orphans(manager: VolumeManager) -> int:
    """Backend volumes no row claims (a crash after a row went, before its data did)."""
    held = manager.driver.volume_ids()
    if not held:
        return 0
    claimed = volume_ops.claimed_ids(manager.deps.db, held)
    claimed -= migrations.migrated_away(manager.deps.db, held, manager.backend)
    count = 0
    for volume_id in held:
        if volume_id in claimed:
            continue
        LOG.warning("volume %s: on the backend but in no row: deleting it", volume_id)
        try:
            manager.driver.delete_volume(VolumeRef(volume_id, 0))
            count += 1
        except Exception:
            LOG.exception("volume %s: the orphan could not be deleted", volume_id)
    return count
