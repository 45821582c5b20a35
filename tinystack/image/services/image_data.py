"""Image data: upload (``PUT file``), staging and import (glance-direct), download.

An upload is a small state machine around a :class:`Transfer`:

1. ``begin_*`` authorizes, checks quotas and atomically moves the image from
   ``queued`` to ``saving`` (upload) or ``uploading`` (stage). Whoever loses
   that race gets 409, so two uploads never interleave.
2. The API layer streams the request body into :meth:`Transfer.write`.
3. :meth:`Transfer.commit` checks size, ``Content-MD5`` and the format
   inspection, publishes the data and marks the image ``active`` (or records
   the staged data). :meth:`Transfer.abort`, on any failure, discards the data
   and puts the image back in ``queued``.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import (
    BadRequest,
    Forbidden,
    Gone,
    NotFound,
    RangeNotSatisfiable,
    RequestEntityTooLarge,
)
from tinystack.common.rpc.payload import JSON
from tinystack.image import models
from tinystack.image.exception import InvalidImageStatusTransition
from tinystack.image.policies import images as image_rules
from tinystack.image.services import _access, _locations, format_inspection, quotas
from tinystack.image.services._access import get_row
from tinystack.image.services.cache import CacheFill
from tinystack.image.services.deps import Deps
from tinystack.image.services.records import Download, ImageRecord
from tinystack.image.services.sink import DataSink, Digest
from tinystack.image.store.base import DataNotFound, DataReader, Store, StoreError
from tinystack.image.store.file import FileReader

LOG = logging.getLogger(__name__)
MiB = 1024 * 1024


@dataclass(frozen=True)
class UploadRequest:
    """What the client said about the data it is about to send."""

    #: ``x-openstack-image-size``: the data must have exactly this size
    declared_size: int | None = None
    #: Content-Length, when the body is not chunked
    content_length: int | None = None
    #: ``Content-MD5`` (hex or base64): the data's md5 must match
    content_md5: str | None = None
    #: ``X-Image-Meta-Store``
    store: str | None = None

    @property
    def expected_size(self) -> int | None:
        return self.declared_size if self.declared_size is not None else self.content_length


def parse_md5(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) == 32:
        try:
            int(value, 16)
        except ValueError:
            pass
        else:
            return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 16:
        raise BadRequest("Content-MD5 must be an md5 digest in hex or base64.")
    return raw.hex()


def resolve_range(first: int | None, last: int | None, size: int) -> tuple[int, int]:
    """(offset, length) for ``bytes=first-last`` (``first`` None: the last ``last`` bytes)."""
    if first is None:
        if last is None or last <= 0 or size == 0:
            raise RangeNotSatisfiable("Requested range not satisfiable")
        length = min(last, size)
        return size - length, length
    if first >= size or (last is not None and last < first):
        raise RangeNotSatisfiable("Requested range not satisfiable")
    end = size - 1 if last is None else min(last, size - 1)
    return first, end - first + 1


@dataclass(frozen=True)
class Reservation:
    """An image moved to saving/uploading for one transfer, and how much it may receive."""

    image_id: str
    disk_format: str | None
    container_format: str | None
    staging: bool
    max_bytes: int
    too_large: str
    #: where the data goes (the staging area for a stage)
    store: Store


class Transfer:
    """One upload or stage in progress; see the module docstring."""

    def __init__(self, deps: Deps, reservation: Reservation, request: UploadRequest) -> None:
        self.deps = deps
        self.image_id = reservation.image_id
        self.disk_format = reservation.disk_format
        self.container_format = reservation.container_format
        self.request = request
        self.staging = reservation.staging
        self.status = "uploading" if self.staging else "saving"
        self.store: Store = deps.staging if self.staging else reservation.store
        self._done = False
        try:
            writer = self.store.open_writer(self.image_id)
        except BaseException:
            self._done = True
            deps.db.write(self._restore)
            raise
        self.sink = DataSink(
            writer,
            hash_algo=deps.opts.hashing_algorithm,
            max_bytes=reservation.max_bytes,
            too_large=reservation.too_large,
        )

    def write(self, chunks: Sequence[bytes]) -> None:
        self.sink.write(chunks)

    def commit(self) -> None:
        try:
            digest = self.sink.finish()
            self._verify(digest)
            virtual_size = None
            if not self.staging:
                virtual_size = format_inspection.verdict(
                    digest.inspection,
                    self.disk_format,
                    self.container_format,
                    require_match=self.deps.opts.require_image_format_match,
                )
            location = self.sink.writer.commit()
        except BaseException:
            self.abort()
            raise
        try:
            uploaded = self.deps.db.write(lambda s: self._record(s, digest, virtual_size, location))
        except BaseException:
            _forget(self.store, location)
            self.abort()
            raise
        self._done = True
        if uploaded is not None:
            self.deps.notifier.info(None, "image.upload", image_notification(uploaded))

    def _verify(self, digest: Digest) -> None:
        declared = self.request.declared_size
        if declared is not None and declared != digest.size:
            raise BadRequest(
                f"Image size mismatch: x-openstack-image-size says {declared} bytes, "
                f"{digest.size} were received."
            )
        if self.request.content_md5 and self.request.content_md5 != digest.checksum:
            raise BadRequest(
                f"Content-MD5 mismatch: expected {self.request.content_md5}, "
                f"the data has {digest.checksum}."
            )

    def _record(
        self, session: Session, digest: Digest, virtual_size: int | None, location: str
    ) -> ImageRecord | None:
        """The image's row updated with its data; the image (None for a stage)."""
        image = get_row(session, self.image_id, lock=True)  # a delete waits, or is seen
        if image is None or image.status != self.status:
            raise Gone(
                f"Image {self.image_id} could not be found after upload. The image may have "
                "been deleted during the upload, cleaning up the chunks uploaded."
            )
        image.updated_at = timeutils.utcnow()
        image.size = digest.size
        if self.staging:
            session.add(
                models.ImageStage(
                    image_id=image.id,
                    owner=image.owner,
                    location=location,
                    size=digest.size,
                    checksum=digest.checksum,
                    os_hash_algo=digest.os_hash_algo,
                    os_hash_value=digest.os_hash_value,
                    inspection=digest.inspection.to_dict(),
                    created_at=timeutils.utcnow(),
                )
            )
            return None
        image.status = "active"
        image.virtual_size = virtual_size
        image.checksum = digest.checksum
        image.os_hash_algo = digest.os_hash_algo
        image.os_hash_value = digest.os_hash_value
        _locations.add(image, location, self.store.id)
        return ImageRecord.from_model(image)

    def abort(self) -> None:
        """Discard the data and put the image back in ``queued``; idempotent."""
        if self._done:
            return
        self._done = True
        self.sink.close()
        try:
            self.sink.writer.abort()
        finally:
            self.deps.db.write(self._restore)

    def _restore(self, session: Session) -> None:
        session.execute(
            update(models.Image)
            .where(models.Image.id == self.image_id, models.Image.status == self.status)
            .values(status="queued", size=None, virtual_size=None, updated_at=timeutils.utcnow())
            .execution_options(synchronize_session=False)
        )


def recover_uploads(deps: Deps) -> list[str]:
    """Put the images a previous process was receiving data for back in ``queued`` (an
    upload's ``saving``, a stage's ``uploading`` with nothing staged yet), as
    :meth:`Transfer.abort` would have; their ids (the caller removes their partial data).
    Like ``import_flow.recover``, this is the start of the one image service."""

    def txn(session: Session) -> list[str]:
        staged = select(models.ImageStage.image_id)
        rows = session.scalars(
            select(models.Image.id).where(
                models.Image.deleted.is_(False),
                (models.Image.status == "saving")
                | ((models.Image.status == "uploading") & models.Image.id.not_in(staged)),
            )
        ).all()
        if rows:
            session.execute(
                update(models.Image)
                .where(models.Image.id.in_(rows))
                .values(
                    status="queued", size=None, virtual_size=None, updated_at=timeutils.utcnow()
                )  # fmt: skip
                .execution_options(synchronize_session=False)
            )
        return list(rows)

    return deps.db.write(txn)


def _forget(store: Store, location: str) -> None:
    try:
        store.delete(location)
    except (OSError, StoreError):
        LOG.exception("could not remove image data at %s", location)


def _lock_status(session: Session, image_id: str, expected: tuple[str, ...], new: str) -> bool:
    """Atomically move an image from one of ``expected`` statuses to ``new``."""
    result = session.execute(
        update(models.Image)
        .where(
            models.Image.id == image_id,
            models.Image.deleted.is_(False),
            models.Image.status.in_(expected),
        )
        .values(status=new, updated_at=timeutils.utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


# -- upload and stage ---------------------------------------------------------


def begin_upload(
    deps: Deps, ctx: RequestContext, image_id: str, request: UploadRequest
) -> Transfer:
    store = deps.store
    if request.store is not None:
        if not deps.stores.known(request.store) or deps.stores.get(request.store).read_only:
            raise BadRequest(f"Store for identifier {request.store} not found")
        store = deps.stores.get(request.store)
    reservation = deps.db.write(lambda s: _begin(deps, s, ctx, image_id, request, store))
    return Transfer(deps, reservation, request)


def begin_stage(deps: Deps, ctx: RequestContext, image_id: str, request: UploadRequest) -> Transfer:
    if "glance-direct" not in deps.opts.enabled_import_methods:
        raise NotFound("'glance-direct' method is not available at this site.")
    reservation = deps.db.write(lambda s: _begin(deps, s, ctx, image_id, request, None))
    return Transfer(deps, reservation, request)


def _begin(
    deps: Deps,
    session: Session,
    ctx: RequestContext,
    image_id: str,
    request: UploadRequest,
    store: Store | None,
) -> Reservation:
    """Reserve the image for an upload into ``store``, or a stage when it is None."""
    staging = store is None
    image = _access.load(session, ctx, image_id)
    rule = image_rules.MODIFY_IMAGE if staging else image_rules.UPLOAD_IMAGE
    _access.authorize(ctx, rule, image)
    new_status = "uploading" if staging else "saving"
    if image.status != "queued":
        raise InvalidImageStatusTransition(image.status, new_status)
    if not staging:
        missing = [a for a in ("disk_format", "container_format") if not getattr(image, a)]
        if missing:
            noun = "Property" if len(missing) == 1 else "Properties"
            raise BadRequest(f"{noun} {', '.join(missing)} must be set prior to saving data.")
    opts = deps.opts
    cap = opts.image_size_cap
    expected = request.expected_size
    if expected is not None and expected > cap:
        raise RequestEntityTooLarge(f"The incoming image is too large: {expected} > {cap}")
    quota = "image_stage_total" if staging else "image_size_total"
    quotas.enforce(session, opts, quota, image.owner, (expected or 0) // MiB)
    if not _lock_status(session, image_id, ("queued",), new_status):
        raise InvalidImageStatusTransition(image.status, new_status)
    quotas.enforce(session, opts, "image_count_uploading", image.owner)
    remaining = quotas.remaining_bytes(session, opts, quota, image.owner)
    max_bytes = cap if remaining < 0 else min(cap, remaining)
    too_large = (
        f"Image exceeds the storage quota ({quota})"
        if max_bytes < cap
        else f"The incoming image is too large: more than {cap} bytes"
    )
    return Reservation(
        image.id,
        image.disk_format,
        image.container_format,
        staging,
        max_bytes,
        too_large,
        store or deps.staging,
    )


# -- download -----------------------------------------------------------------


def open_download(
    deps: Deps,
    ctx: RequestContext,
    image_id: str,
    byte_range: tuple[int | None, int | None] | None,
) -> Download | None:
    """The data to send, or None when the image has none (204).

    The node-local cache serves it when it holds the image; otherwise the heaviest
    store holding a copy does (the next one if a copy is missing), and a whole-image
    read fills the cache on the way.
    """
    with deps.db.reader() as session:
        image = _access.load(session, ctx, image_id)
        if image.status == "deactivated" and not ctx.is_admin:
            raise Forbidden(
                "The requested image has been deactivated. Image data download is forbidden."
            )
        _access.authorize(ctx, image_rules.DOWNLOAD_IMAGE, image)
        size, checksum = image.size or 0, image.checksum
        copies = [(loc.url, loc.store) for loc in image.locations if loc.status == "active"]
        active = image.status == "active"
        readable = image.status in ("active", "deactivated")
    if not copies or not readable:
        return None
    offset, length = 0, None
    if byte_range is not None:
        offset, length = resolve_range(byte_range[0], byte_range[1], size)
    reader = _cached_reader(deps, image_id, offset, length) if active else None
    if reader is None:
        reader = _store_reader(deps, copies, offset, length)
        if reader is None:
            return None
        if active and deps.cache is not None and byte_range is None:
            fill = deps.cache.begin_fill(image_id, size)
            if fill is not None:
                reader = TeeReader(reader, fill)
    return Download(reader, size, offset, checksum, partial=byte_range is not None)


def _cached_reader(deps: Deps, image_id: str, offset: int, length: int | None) -> DataReader | None:
    if deps.cache is None:
        return None
    path = deps.cache.path(image_id)
    if path is None:
        return None
    try:
        return FileReader(path, offset, length, deps.opts.io_chunk_size)
    except DataNotFound:
        return None


def _store_reader(
    deps: Deps, copies: list[tuple[str, str | None]], offset: int, length: int | None
) -> DataReader | None:
    """A reader of the first copy that can be read, heaviest store first."""

    def weight(copy: tuple[str, str | None]) -> int:
        store_id = copy[1]
        return -deps.stores.get(store_id).weight if store_id and deps.stores.known(store_id) else 0

    for url, store_id in sorted(copies, key=weight):
        try:
            return deps.stores.for_location(url, store_id).open_reader(url, offset, length)
        except DataNotFound:
            LOG.warning("image data missing at %s; trying the next location", url)
        except StoreError:
            LOG.exception("cannot read image data at %s", url)
    return None


class TeeReader(DataReader):
    """Reads from a store and fills the cache with what passes through."""

    def __init__(self, source: DataReader, fill: CacheFill) -> None:
        self._source = source
        self._fill: CacheFill | None = fill
        self.size = source.size

    def read(self) -> bytes:
        try:
            chunk = self._source.read()
        except BaseException:
            self._stop(False)
            raise
        if self._fill is not None:
            if chunk:
                self._fill.write(chunk)
            else:
                self._stop(True)
        return chunk

    def _stop(self, complete: bool) -> None:
        fill, self._fill = self._fill, None
        if fill is None:
            return
        try:
            if complete:
                fill.commit()
            else:
                fill.abort()
        except OSError:
            LOG.exception("could not cache image %s", fill.image_id)

    def close(self) -> None:
        self._stop(False)
        self._source.close()


def image_notification(image: ImageRecord) -> dict[str, JSON]:
    """Glance's notification payload of an image (``format_image_notification``)."""
    return {
        "id": image.id,
        "name": image.name,
        "status": image.status,
        "created_at": timeutils.isotime(image.created_at),
        "updated_at": timeutils.isotime(image.updated_at),
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "protected": image.protected,
        "checksum": image.checksum,
        "owner": image.owner,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "size": image.size,
        "virtual_size": image.virtual_size,
        "is_public": image.visibility == "public",
        "visibility": image.visibility,
        "properties": dict(image.properties),
        "tags": list(image.tags),
        "deleted": False,
        "deleted_at": None,
    }
