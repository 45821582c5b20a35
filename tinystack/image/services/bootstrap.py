"""Register the images a fresh cloud should offer.

The files are those listed in ``[image] bootstrap_images`` and those dropped in
``[image] bootstrap_image_dir`` (default ``<state_dir>/bootstrap-images``, where
the compute service's guest image builder can put its result). Each existing
file becomes a public image named after the file (no extension), owned by the
project ``[image] bootstrap_image_owner`` names (as if that project had uploaded
it), its disk format detected from its content; a name that is already
registered is left alone, so this is idempotent.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.image import models
from tinystack.image.services import _locations, format_inspection
from tinystack.image.services.deps import Deps
from tinystack.image.services.sink import DataSink, Digest

LOG = logging.getLogger(__name__)


IMAGE_SUFFIXES = (".qcow2", ".img", ".raw", ".iso", ".vmdk", ".vhd", ".vhdx")


def candidates(deps: Deps) -> list[Path]:
    """The configured image files, then those found in the bootstrap directory."""
    paths = [Path(raw).expanduser() for raw in deps.opts.bootstrap_images]
    folder = deps.opts.bootstrap_image_dir
    if folder.is_dir():
        paths += sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return paths


def register_images(deps: Deps, owner: str | None) -> list[str]:
    """Register every bootstrap image file not registered yet, owned by the project
    ``owner`` (None when identity could not be asked); return the new image ids."""
    created = []
    for path in candidates(deps):
        if not path.is_file():
            LOG.info("bootstrap image %s does not exist (yet); skipped", path)
            continue
        if _registered(deps, path.stem):
            continue
        created.append(register_file(deps, path, path.stem, owner))
    return created


def _registered(deps: Deps, name: str) -> bool:
    with deps.db.reader() as session:
        found = session.execute(
            select(models.Image.id).where(
                models.Image.name == name,
                models.Image.visibility == "public",
                models.Image.deleted.is_(False),
            )
        ).first()
    return found is not None


def register_file(deps: Deps, path: Path, name: str, owner: str | None = None) -> str:
    image_id = timeutils.new_uuid()
    sink = DataSink(
        deps.stores.local.open_writer(image_id),
        hash_algo=deps.opts.hashing_algorithm,
        max_bytes=deps.opts.image_size_cap,
        too_large=f"{path} is larger than image_size_cap",
    )
    try:
        with open(path, "rb") as src:
            while chunk := src.read(4 * 1024 * 1024):
                sink.write([chunk])
        digest = sink.finish()
        disk_format = _disk_format(digest)
        virtual_size = format_inspection.verdict(digest.inspection, disk_format, "bare")
        location = sink.writer.commit()
    except BaseException:
        sink.close()
        sink.writer.abort()
        raise

    def txn(session: Session) -> None:
        now = timeutils.utcnow()
        image = models.Image(
            id=image_id,
            name=name,
            status="active",
            visibility="public",
            owner=owner,
            protected=False,
            os_hidden=False,
            disk_format=disk_format,
            container_format="bare",
            min_disk=0,
            min_ram=0,
            size=digest.size,
            virtual_size=virtual_size,
            checksum=digest.checksum,
            os_hash_algo=digest.os_hash_algo,
            os_hash_value=digest.os_hash_value,
            created_at=now,
            updated_at=now,
            deleted=False,
        )
        _locations.add(image, location, deps.stores.local.id)
        session.add(image)

    deps.db.write(txn)
    LOG.info("registered bootstrap image %s (%s) from %s", name, image_id, path)
    return image_id


def _disk_format(digest: Digest) -> str:
    formats = set(digest.inspection.formats)
    if formats == {"iso", "gpt"}:
        return "iso"
    if len(formats) == 1 and (fmt := next(iter(formats))) != "gpt":
        return fmt
    return "raw"
