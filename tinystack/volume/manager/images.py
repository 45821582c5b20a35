"""Volumes and images: a volume's contents from an image (the verified image cache of
``tinystack.volume.image_cache``; the file driver backs a qcow2 volume with the cached
file, copy-on-write; a driver that can clone the image's own location, as rbd does,
skips the download), and a volume uploaded as an image (``os-volume_upload_image``)."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from tinystack.common.clients.session import ClientError
from tinystack.common.rpc.context import CallContext
from tinystack.volume.drivers.base import VolumeDriver, VolumeRef, chunks
from tinystack.volume.drivers.errors import BackendError
from tinystack.volume.image_cache import ImageCache, ImageSpec
from tinystack.volume.payloads import ImageUpload
from tinystack.volume.services import volume_ops
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.records import VolumeRecord

LOG = logging.getLogger(__name__)
CHUNK = 4 * 1024 * 1024
GIB = 1024**3


def image_cache(deps: Deps, driver: VolumeDriver) -> ImageCache:
    """The backend's image cache; images backing live volumes are never evicted."""
    opts = deps.opts
    directory = (
        Path(opts.image_cache_dir).expanduser()
        if opts.image_cache_dir
        else deps.state_dir / "volume-image-cache"
    )
    in_use: Callable[[], set[Path]] = getattr(driver, "backing_files", set)
    return ImageCache(directory, int(opts.image_cache_max_gb) * GIB, in_use=in_use)


class ImageOps:
    def __init__(self, deps: Deps, driver: VolumeDriver, cache: ImageCache | None = None) -> None:
        self.deps = deps
        self.driver = driver
        self.cache = cache or image_cache(deps, driver)

    def work_dir(self) -> Path:
        path = self.deps.state_dir / "volume-conversion"
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- image -> volume ----------------------------------------------------------------------
    def create_from_image(
        self, ctx: CallContext, volume: VolumeRecord, image_id: str
    ) -> str | None:
        """The volume with the image's contents (``downloading`` while the cache fetches)."""
        image = self.deps.image.get(image_id)
        if image is None or image.get("status") != "active":
            raise BackendError(f"image {image_id} is not available")
        spec = ImageSpec(
            image_id=image_id,
            disk_format=str(image.get("disk_format") or "raw"),
            size=image.get("size"),
            checksum=image.get("checksum"),
            os_hash_algo=image.get("os_hash_algo"),
            os_hash_value=image.get("os_hash_value"),
        )
        ref = VolumeRef(volume.id, volume.size, volume.provider_location, volume.multiattach)
        if self.driver.clone_image(ref, _locations(image), spec.disk_format):
            return None
        volume_ops.set_downloading(self.deps.db, volume.id)
        with self.cache.use(spec, lambda: self._stream(image_id)) as cached:
            del ctx
            return self.driver.create_volume_from_image(ref, cached.path, cached.format)

    def _stream(self, image_id: str) -> Iterator[bytes]:
        """The image's data from the image service, as the service user."""
        session = self.deps.session
        url = session.endpoint("image") + f"/v2/images/{image_id}/file"
        for attempt in (1, 2):
            headers = {"X-Auth-Token": session.token(refresh=attempt == 2)}
            with (
                httpx.Client(timeout=httpx.Timeout(60.0, read=300.0)) as http,
                http.stream("GET", url, headers=headers) as response,
            ):
                if response.status_code == 401 and attempt == 1:
                    continue
                if response.status_code != 200:
                    response.read()
                    raise BackendError(
                        f"image {image_id}: the image service answered {response.status_code}"
                    )
                yield from response.iter_bytes(CHUNK)
                return

    # -- volume -> image ----------------------------------------------------------------------
    def upload(self, ctx: CallContext, volume: VolumeRecord, request: ImageUpload) -> None:
        """Write the volume as ``request.disk_format`` and upload it into the image."""
        ref = VolumeRef(volume.id, volume.size, volume.provider_location, volume.multiattach)
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


def _locations(image: dict[str, Any]) -> list[str]:
    """The image's data URLs the caller is shown (``direct_url``, ``locations``)."""
    urls = [str(image["direct_url"])] if image.get("direct_url") else []
    for location in image.get("locations") or []:
        if isinstance(location, dict) and location.get("url") not in (None, *urls):
            urls.append(str(location["url"]))
    return urls


def _read(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        yield from chunks(stream, CHUNK)
