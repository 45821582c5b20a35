"""The manager's side of manageable volumes (3.8): list what the driver holds that no
volume claims, adopt one (``manage_existing``) and let a volume go (``unmanage``).

An RPC endpoint beside :class:`~tinystack.volume.manager.manager.VolumeManager` on the
backend's ``cinder-volume`` server, sharing its per-volume locks. Both operations
re-check the volume's status first (``managing`` / ``unmanaging``), so :func:`recover`
replays them after a restart (the file driver's adoption is a rename, which it
recognises when replayed).
"""

from __future__ import annotations

import logging

from tinystack.common.rpc import Target
from tinystack.common.rpc.payload import JSON
from tinystack.volume import rpcapi
from tinystack.volume.drivers.base import VolumeRef
from tinystack.volume.manager.attachments import Locking
from tinystack.volume.payloads import ManageableEntry, ManageableList, ManageSpec
from tinystack.volume.services import manageable, volume_ops, workers
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.workers import Operation

LOG = logging.getLogger(__name__)


class ManageableManager:
    target = Target(rpcapi.VOLUME_TOPIC, version=rpcapi.VOLUME_VERSION)

    def __init__(self, manager: Locking) -> None:
        self.manager = manager

    @property
    def deps(self) -> Deps:
        return self.manager.deps

    # -- RPC -----------------------------------------------------------------------------------
    def get_manageable_volumes(self, ctxt: rpcapi.RPCContext) -> JSON:
        del ctxt
        entries = tuple(
            ManageableEntry(
                reference=dict(found.reference),
                size=found.size,
                safe_to_manage=found.safe_to_manage,
                reason_not_safe=found.reason_not_safe,
                cinder_id=found.cinder_id,
            )
            for found in self.manager.driver.get_manageable_volumes()
        )
        return ManageableList(entries=entries).to_primitive()

    def get_manageable_snapshots(self, ctxt: rpcapi.RPCContext) -> JSON:
        del ctxt
        entries = tuple(
            ManageableEntry(
                reference=dict(found.reference),
                size=found.size,
                safe_to_manage=found.safe_to_manage,
                reason_not_safe=found.reason_not_safe,
                cinder_id=found.cinder_id,
                source_reference=found.source_reference,
            )
            for found in self.manager.driver.get_manageable_snapshots()
        )
        return ManageableList(entries=entries).to_primitive()

    def manage_existing(self, ctxt: rpcapi.RPCContext, spec: JSON) -> None:
        del ctxt
        self.manage(ManageSpec.from_primitive(spec))

    def unmanage(self, ctxt: rpcapi.RPCContext, volume_id: str) -> None:
        del ctxt
        self.release(volume_id)

    # -- operations ----------------------------------------------------------------------------
    def manage(self, spec: ManageSpec) -> None:
        with self.manager.lock(spec.volume_id):
            volume = volume_ops.get(self.deps.db, spec.volume_id)
            if volume is None or volume.status != "managing":
                return
            try:
                size, location = self.manager.driver.manage_existing(
                    VolumeRef(volume.id, 0), dict(spec.reference)
                )
            except Exception:
                LOG.exception("volume %s: managing %s failed", volume.id, spec.reference)
                manageable.managed(self.deps, volume.id, None, None)
            else:
                if not manageable.managed(self.deps, volume.id, size, location):
                    LOG.info("volume %s: no longer managing; the data stays adopted", volume.id)
        self.deps.changed(spec.volume_id)

    def release(self, volume_id: str) -> None:
        with self.manager.lock(volume_id):
            volume = volume_ops.get(self.deps.db, volume_id)
            if volume is None or volume.status != "unmanaging":
                return
            try:
                self.manager.driver.unmanage(
                    VolumeRef(volume.id, volume.size, volume.provider_location)
                )
            except Exception:
                LOG.exception("volume %s: unmanage failed", volume_id)
                volume_ops.set_status(self.deps.db, volume_id, "error_unmanaging")
                volume_ops.forget_operation(self.deps.db, "Volume", volume_id)
            else:
                volume_ops.deleted(self.deps.db, volume_id)
        self.deps.changed(volume_id)


def manage_spec(op: Operation) -> ManageSpec:
    """The manage operation a workers record describes."""
    raw = op.args.get("reference")
    reference = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    return ManageSpec(volume_id=op.resource_id, reference=reference)


def recover(manager: Locking) -> dict[str, int]:
    """Replay the manage and unmanage operations the backend left unfinished."""
    endpoint = ManageableManager(manager)
    count = 0
    for op in workers.pending(manager.deps.db, manager.backend):
        if op.resource_type != "Volume" or op.operation not in ("manage", "unmanage"):
            continue
        try:
            if op.operation == "manage":
                raw = op.args.get("reference")
                reference = (
                    {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
                )
                endpoint.manage(ManageSpec(volume_id=op.resource_id, reference=reference))
            else:
                endpoint.release(op.resource_id)
            count += 1
        except Exception:
            LOG.exception("volume %s: recovering %s failed", op.resource_id, op.operation)
    return {"managed": count}
