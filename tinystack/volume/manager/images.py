"""Volumes and images: a volume's contents from an image (through the image cache of
``tinystack.volume.image_cache``), and a volume uploaded as an image
(``os-volume_upload_image``)."""

from __future__ import annotations

import importlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tinystack.common.clients.session import ClientError
from tinystack.volume.context import CallContext
from tinystack.volume.drivers.base import VolumeDriver, VolumeRef, chunks
from tinystack.volume.payloads import ImageUpload
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.records import VolumeRecord

LOG = logging.getLogger(__name__)
CHUNK = 4 * 1024 * 1024


class ImageOps:
    def __init__(self, deps: Deps, driver: VolumeDriver) -> None:
        self.deps = deps
        self.driver = driver

    def work_dir(self) -> Path:
        path = self.deps.state_dir / "volume-conversion"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- image -> volume ----------------------------------------------------------------------
    def create_from_image(
        self, ctx: CallContext, volume: VolumeRecord, image_id: str
    ) -> str | None:
        """The volume with the image's contents (the cached, verified image file)."""
        try:
            cache = importlib.import_module("tinystack.volume.image_cache")
        except ImportError as exc:
            raise NotImplementedError("volumes from images need the image cache") from exc
        ref = VolumeRef(volume.id, volume.size, volume.provider_location)
        location: str | None = cache.create_volume_from_image(
            self.deps, self.driver, ctx, ref, image_id
        )
        return location

    # -- volume -> image ----------------------------------------------------------------------
    def upload(self, ctx: CallContext, volume: VolumeRecord, request: ImageUpload) -> None:
        """Write the volume as ``request.disk_format`` and upload it into the image."""
        ref = VolumeRef(volume.id, volume.size, volume.provider_location)
        fd, name = tempfile.mkstemp(prefix=f"upload-{volume.id}-", dir=self.work_dir())
        os.close(fd)
        path = Path(name)
        try:
            self.driver.copy_volume_to_file(ref, path, request.disk_format)
            self.deps.image.upload(request.image_id, _read(path), token=ctx.token)
        finally:
            path.unlink(missing_ok=True)

    def discard(self, ctx: CallContext, image_id: str) -> None:
        """Delete the image a failed upload was filling (best effort)."""
        try:
            self.deps.image.delete(image_id, token=ctx.token)
        except ClientError:
            try:
                self.deps.image.delete(image_id)
            except ClientError:
                LOG.warning("image %s of a failed volume upload could not be deleted", image_id)


def _read(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        yield from chunks(stream, CHUNK)
