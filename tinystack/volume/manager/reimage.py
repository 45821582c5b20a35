"""The manager's side of ``os-reimage`` (3.68): the volume's data replaced by the
image's (through the image cache, as a volume created from the image), then the volume
back in its previous status; for Nova's rebuild (``reimage_reserved``) compute hears
``volume-reimaged``. A replay after a restart does it again from the start."""

from __future__ import annotations

import logging

from tinystack.common.rpc import Target
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.volume import rpcapi
from tinystack.volume.manager import compute_events
from tinystack.volume.manager.manager import VolumeManager, ref_of
from tinystack.volume.payloads import ReimageSpec
from tinystack.volume.services import messages, reimage, volume_ops

LOG = logging.getLogger(__name__)


class ReimageManager:
    target = Target(rpcapi.VOLUME_TOPIC, version=rpcapi.VOLUME_VERSION)

    def __init__(self, manager: VolumeManager) -> None:
        self.manager = manager

    def reimage(self, ctxt: rpcapi.RPCContext, spec: JSON) -> None:
        self.run(CallContext.from_dict(ctxt), ReimageSpec.from_primitive(spec))

    def run(self, ctx: CallContext, spec: ReimageSpec) -> None:
        manager = self.manager
        deps = manager.deps
        with manager.lock(spec.volume_id):
            volume = volume_ops.get(deps.db, spec.volume_id)
            if volume is None or volume.status != "downloading":
                return
            try:
                manager.driver.delete_volume(ref_of(volume))
                location = manager.images.create_from_image(ctx, volume, spec.image_id)
            except Exception:
                LOG.exception("volume %s: re-image from %s failed", volume.id, spec.image_id)
                volume_ops.mark_failed(
                    deps.db, volume.id, status="error", action=messages.REIMAGE_VOLUME,
                    detail=messages.UNKNOWN_ERROR, request_id=ctx.request_id,
                    ttl=manager.ttl,
                )  # fmt: skip
                ok = False
            else:
                ok = reimage.reimaged(deps, spec, location)
        deps.changed(spec.volume_id)
        if spec.reimage_reserved:
            compute_events.volume_reimaged(deps, ctx, spec.volume_id, spec.instance_uuids, ok)
