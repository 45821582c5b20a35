"""The volume manager's snapshot operations: an RPC endpoint served beside
``VolumeManager`` on the backend's ``cinder-volume`` server (``host@backend``).

Each operation takes its volume's lock (the manager's: a snapshot never races a delete,
extend or revert of its volume), re-reads the snapshot and checks it is still in the
status the operation expects (a replay after a restart, or a message delivered twice,
stops there), runs the driver and settles the snapshot in one transaction
(``services/snapshot_ops.py``).

Restart: :meth:`SnapshotManager.recover` replays what the backend left unfinished —
the driver's create, delete and revert are idempotent (files are built under a
temporary name and renamed into place), so a replay finishes the work — and removes
snapshot files no row claims.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from tinystack.common.rpc import Target
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.volume import rpcapi
from tinystack.volume.drivers.base import SnapshotRef, VolumeDriver, VolumeRef
from tinystack.volume.drivers.errors import InvalidReference, VolumeBusy
from tinystack.volume.payloads import SnapshotManageSpec, SnapshotRequest
from tinystack.volume.services import messages, snapshot_ops, volume_ops
from tinystack.volume.services.deps import Deps

LOG = logging.getLogger(__name__)


class Backend(Protocol):
    """What the snapshot operations use of the volume manager."""

    deps: Deps
    driver: VolumeDriver
    #: ``host@backend``
    backend: str

    def lock(self, resource_id: str) -> threading.Lock: ...


def snapshot_ref(snap: snapshot_ops.SnapshotState) -> SnapshotRef:
    return SnapshotRef(snap.id, snap.volume_id, snap.volume_size, snap.provider_location)


class SnapshotManager:
    target = Target(rpcapi.VOLUME_TOPIC, version=rpcapi.VOLUME_VERSION)

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        #: references of the manage operations a restart replays
        self._references: dict[str, dict[str, str]] = {}

    @property
    def deps(self) -> Deps:
        return self.backend.deps

    @property
    def driver(self) -> VolumeDriver:
        return self.backend.driver

    @property
    def ttl(self) -> int:
        return int(self.deps.opts.message_ttl)

    # -- RPC ------------------------------------------------------------------------------------
    def create_snapshot(self, ctxt: rpcapi.RPCContext, request: JSON) -> None:
        self.create(CallContext.from_dict(ctxt), SnapshotRequest.from_primitive(request))

    def delete_snapshot(self, ctxt: rpcapi.RPCContext, request: JSON) -> None:
        self.delete(CallContext.from_dict(ctxt), SnapshotRequest.from_primitive(request))

    def revert_to_snapshot(self, ctxt: rpcapi.RPCContext, request: JSON) -> None:
        self.revert(CallContext.from_dict(ctxt), SnapshotRequest.from_primitive(request))

    def manage_existing_snapshot(self, ctxt: rpcapi.RPCContext, spec: JSON) -> JSON:
        del ctxt
        return {"error": self.adopt(SnapshotManageSpec.from_primitive(spec))}

    def unmanage_snapshot(self, ctxt: rpcapi.RPCContext, request: JSON) -> None:
        del ctxt
        self.let_go(SnapshotRequest.from_primitive(request))

    # -- operations -----------------------------------------------------------------------------
    def create(self, ctx: CallContext, request: SnapshotRequest) -> None:
        with self.backend.lock(request.volume_id):
            snap = snapshot_ops.get(self.deps.db, request.snapshot_id)
            if snap is None or snap.status != "creating":
                return
            try:
                location = self.driver.create_snapshot(snapshot_ref(snap))
            except Exception:
                LOG.exception("snapshot %s: create failed", snap.id)
                self._discard(snap)
                snapshot_ops.failed(
                    self.deps.db, snap.id, "error", action=messages.SNAPSHOT_CREATE,
                    request_id=ctx.request_id, ttl=self.ttl, expected=("creating",),
                )  # fmt: skip
            else:
                if not snapshot_ops.created(self.deps.db, snap.id, location):
                    LOG.info("snapshot %s left creating meanwhile; its data goes", snap.id)
                    self._discard(snap)
        self.deps.changed(request.snapshot_id)

    def _discard(self, snap: snapshot_ops.SnapshotState) -> None:
        try:
            self.driver.delete_snapshot(snapshot_ref(snap))
        except Exception:
            LOG.exception("snapshot %s: could not remove its data", snap.id)

    def delete(self, ctx: CallContext, request: SnapshotRequest) -> None:
        with self.backend.lock(request.volume_id):
            snap = snapshot_ops.get(self.deps.db, request.snapshot_id)
            if snap is None or snap.status != "deleting":
                return
            try:
                self.driver.delete_snapshot(snapshot_ref(snap))
            except VolumeBusy as exc:  # upstream's SnapshotIsBusy: it stays usable
                LOG.warning("snapshot %s: %s", snap.id, exc)
                snapshot_ops.failed(
                    self.deps.db, snap.id, "available", action=messages.SNAPSHOT_DELETE,
                    request_id=ctx.request_id, ttl=self.ttl, expected=("deleting",),
                )  # fmt: skip
            except Exception:
                LOG.exception("snapshot %s: delete failed", snap.id)
                snapshot_ops.failed(
                    self.deps.db, snap.id, "error_deleting", action=messages.SNAPSHOT_DELETE,
                    request_id=ctx.request_id, ttl=self.ttl, expected=("deleting",),
                )  # fmt: skip
            else:
                volume_ops.snapshot_deleted(self.deps.db, snap.id)
        self.deps.changed(request.snapshot_id)

    def revert(self, ctx: CallContext, request: SnapshotRequest) -> None:
        del ctx
        with self.backend.lock(request.volume_id):
            snap = snapshot_ops.get(self.deps.db, request.snapshot_id)
            volume = volume_ops.get(self.deps.db, request.volume_id)
            if snap is None or volume is None or volume.status != "reverting":
                if snap is not None:
                    snapshot_ops.reverted(self.deps.db, request.volume_id, snap.id, ok=True)
                return
            ref = VolumeRef(volume.id, volume.size, volume.provider_location)
            try:
                self.driver.revert_to_snapshot(ref, snapshot_ref(snap))
            except Exception:
                LOG.exception("volume %s: revert to snapshot %s failed", volume.id, snap.id)
                snapshot_ops.reverted(self.deps.db, volume.id, snap.id, ok=False)
            else:
                snapshot_ops.reverted(self.deps.db, volume.id, snap.id, ok=True)
        self.deps.changed(request.volume_id)

    def adopt(self, spec: SnapshotManageSpec) -> str | None:
        """Adopt ``spec.reference`` as the ``creating`` snapshot; an invalid reference
        removes the row (and its quota) and is returned as the reason."""
        with self.backend.lock(spec.volume_id):
            snap = snapshot_ops.get(self.deps.db, spec.snapshot_id)
            if snap is None or snap.status != "creating":
                return None
            try:
                _size, location = self.driver.manage_existing_snapshot(
                    snapshot_ref(snap), dict(spec.reference)
                )
            except InvalidReference as exc:
                volume_ops.snapshot_deleted(self.deps.db, snap.id)
                return str(exc)
            except Exception:
                LOG.exception("snapshot %s: managing %s failed", snap.id, spec.reference)
                snapshot_ops.failed(
                    self.deps.db, snap.id, "error", action=messages.SNAPSHOT_CREATE,
                    request_id=None, ttl=self.ttl, expected=("creating",),
                )  # fmt: skip
            else:
                snapshot_ops.created(self.deps.db, snap.id, location)
        self.deps.changed(spec.snapshot_id)
        return None

    def let_go(self, request: SnapshotRequest) -> None:
        with self.backend.lock(request.volume_id):
            snap = snapshot_ops.get(self.deps.db, request.snapshot_id)
            if snap is None or snap.status != "unmanaging":
                return
            try:
                self.driver.unmanage_snapshot(snapshot_ref(snap))
            except Exception:
                LOG.exception("snapshot %s: unmanage failed", snap.id)
                snapshot_ops.failed(
                    self.deps.db, snap.id, "error", action=messages.SNAPSHOT_DELETE,
                    request_id=None, ttl=self.ttl, expected=("unmanaging",),
                )  # fmt: skip
            else:
                volume_ops.snapshot_deleted(self.deps.db, snap.id)
        self.deps.changed(request.snapshot_id)

    def _replay_unmanage(self, ctx: CallContext, request: SnapshotRequest) -> None:
        del ctx
        self.let_go(request)

    def _replay_manage(self, ctx: CallContext, request: SnapshotRequest) -> None:
        """The manage a restart interrupted (the API that asked has gone; an invalid
        reference removes the row as it would have)."""
        del ctx
        snap = snapshot_ops.get(self.deps.db, request.snapshot_id)
        ref = self._references.pop(request.snapshot_id, {}) if snap is not None else {}
        spec = SnapshotManageSpec(request.snapshot_id, request.volume_id, ref)
        error = self.adopt(spec)
        if error is not None:
            LOG.warning("snapshot %s: not managed: %s", request.snapshot_id, error)

    # -- restart ----------------------------------------------------------------------------------
    def recover(self) -> None:
        """Replay the snapshot operations this backend left unfinished (in the
        background, so the manager starts at once), then remove orphan snapshot data."""
        ctx = CallContext.internal()
        replays: list[tuple[Callable[[CallContext, SnapshotRequest], None], SnapshotRequest]] = []
        for op in snapshot_ops.pending(self.deps.db, self.backend.backend):
            snap = snapshot_ops.get(self.deps.db, op.resource_id)
            if snap is None:
                continue
            volume_id = str(op.args.get("volume_id") or snap.volume_id)
            request = SnapshotRequest(snapshot_id=snap.id, volume_id=volume_id)
            if op.operation == "create":
                replays.append((self.create, request))
            elif op.operation == "delete":
                replays.append((self.delete, request))
            elif op.operation == "revert":
                replays.append((self.revert, request))
            elif op.operation == "unmanage":
                replays.append((self._replay_unmanage, request))
            elif op.operation == "manage":
                raw = op.args.get("reference")
                ref = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
                self._references[snap.id] = ref
                replays.append((self._replay_manage, request))
        for snap in snapshot_ops.on_backend(self.deps.db, self.backend.backend):
            # a row stuck without its worker entry (written by an older process)
            if snap.status in ("creating", "deleting") and not any(
                r.snapshot_id == snap.id for _, r in replays
            ):
                request = SnapshotRequest(snapshot_id=snap.id, volume_id=snap.volume_id)
                replays.append((self.create if snap.status == "creating" else self.delete, request))
        if replays:
            LOG.info("replaying %d unfinished snapshot operation(s)", len(replays))

        def run() -> None:
            for operation, request in replays:
                try:
                    operation(ctx, request)
                except Exception:
                    LOG.exception("snapshot %s: replay failed", request.snapshot_id)
            self.remove_orphans()

        threading.Thread(target=run, name="snapshot-recovery", daemon=True).start()

    def remove_orphans(self) -> None:
        """Snapshot data on the backend that no snapshot row (nor a backup's temporary
        snapshot) claims is what a crash between the driver and the database left."""
        listed = getattr(self.driver, "snapshot_ids", None)
        if listed is None:
            return
        ids = list(listed())
        known = snapshot_ops.known_ids(self.deps.db, ids)
        for orphan in sorted(set(ids) - known):
            LOG.info("removing orphan snapshot data %s", orphan)
            try:
                self.driver.delete_snapshot(SnapshotRef(orphan, "", 0))
            except Exception:
                LOG.exception("snapshot %s: could not remove orphan data", orphan)
