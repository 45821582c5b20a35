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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    RangeNotSatisfiable,
    RequestEntityTooLarge,
    TinystackError,
)
from tinystack.common.rpc.payload import JSON
from tinystack.image import models
from tinystack.image.exception import InvalidImageStatusTransition
from tinystack.image.policies import images as image_rules
from tinystack.image.services import _access, format_inspection, quotas, tasks
from tinystack.image.services._access import get_row
from tinystack.image.services.deps import Deps
from tinystack.image.services.records import Download
from tinystack.image.services.sink import DataSink, Digest
from tinystack.image.store.base import DataNotFound, Store, StoreError

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


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """A checked ``POST .../import`` body."""

    method: str
    #: the body as the client sent it, recorded in the import task's input
    body: Mapping[str, JSON]


@dataclass(frozen=True, slots=True)
class _Staged:
    """What an import takes over: the staged data and what its verdict needs."""

    task_id: str
    location: str
    #: the staged data's inspection, as its JSON column holds it
    inspection: Mapping[str, object]
    disk_format: str | None
    container_format: str | None


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
        self.store: Store = deps.staging if self.staging else deps.store
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
            self.deps.db.write(lambda s: self._record(s, digest, virtual_size, location))
        except BaseException:
            _forget(self.store, location)
            self.abort()
            raise
        self._done = True

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
    ) -> None:
        image = get_row(session, self.image_id)
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
            return
        image.status = "active"
        image.virtual_size = virtual_size
        image.checksum = digest.checksum
        image.os_hash_algo = digest.os_hash_algo
        image.os_hash_value = digest.os_hash_value
        image.location = location
        image.store = self.deps.store.id

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
    if request.store is not None and request.store != deps.store.id:
        raise BadRequest(f"Unknown store {request.store!r}.")
    reservation = deps.db.write(lambda s: _begin(deps, s, ctx, image_id, request, False))
    return Transfer(deps, reservation, request)


def begin_stage(deps: Deps, ctx: RequestContext, image_id: str, request: UploadRequest) -> Transfer:
    if "glance-direct" not in deps.opts.enabled_import_methods:
        raise NotFound("'glance-direct' method is not available at this site.")
    reservation = deps.db.write(lambda s: _begin(deps, s, ctx, image_id, request, True))
    return Transfer(deps, reservation, request)


def _begin(
    deps: Deps,
    session: Session,
    ctx: RequestContext,
    image_id: str,
    request: UploadRequest,
    staging: bool,
) -> Reservation:
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
        image.id, image.disk_format, image.container_format, staging, max_bytes, too_large
    )


# -- import -------------------------------------------------------------------


def parse_import(deps: Deps, body: object) -> ImportRequest:
    """Check a ``POST .../import`` body against the enabled methods and the stores."""
    if not isinstance(body, dict):
        raise BadRequest("Import request requires a 'method' field.")
    method = body.get("method")
    if not isinstance(method, dict):
        raise BadRequest("Import request requires a 'method' field.")
    name = method.get("name")
    if name is None:
        raise BadRequest("Import request requires a 'name' field.")
    if name not in deps.opts.enabled_import_methods:
        raise BadRequest(f"Unknown import method name '{name}'.")
    for flag in ("all_stores", "all_stores_must_succeed"):
        if flag in body and not isinstance(body[flag], bool):
            raise BadRequest(f"'{flag}' must be boolean value only")
    stores = body.get("stores")
    if stores is not None:
        if not isinstance(stores, list) or not all(isinstance(s, str) for s in stores):
            raise BadRequest("'stores' must be a list of store identifiers")
        unknown = [s for s in stores if s != deps.store.id]
        if unknown:
            raise Conflict(f"Unknown scheme '{unknown[0]}' found in stores")
    return ImportRequest(str(name), body)


def import_image(deps: Deps, ctx: RequestContext, image_id: str, request: ImportRequest) -> None:
    """Take the staged data over (glance-direct): the image becomes active, or queued again."""
    staged = deps.db.write(lambda s: _begin_import(deps, s, ctx, image_id, request))
    task_id = staged.task_id
    try:
        virtual_size = format_inspection.verdict(
            format_inspection.Inspection.from_dict(staged.inspection),
            staged.disk_format,
            staged.container_format,
            require_match=deps.opts.require_image_format_match,
        )
        location = deps.store.adopt(deps.staging, staged.location, image_id)
    except BaseException as exc:
        reason = _reason(exc)
        deps.db.write(lambda s: _fail_import(deps, s, image_id, task_id, reason))
        _forget(deps.staging, staged.location)
        raise
    try:
        deps.db.write(lambda s: _finish_import(deps, s, image_id, task_id, location, virtual_size))
    except BaseException as exc:
        reason = _reason(exc)
        _forget(deps.store, location)
        deps.db.write(lambda s: tasks.finish(s, task_id, reason))
        raise


def _begin_import(
    deps: Deps, session: Session, ctx: RequestContext, image_id: str, request: ImportRequest
) -> _Staged:
    image = _access.load(session, ctx, image_id)
    quotas.enforce(session, deps.opts, "image_size_total", image.owner)
    if image.status == "active":
        raise Conflict("Image with status active cannot be target for import")
    if image.status != "uploading":
        raise Conflict("Image needs to be staged before 'glance-direct' method can be used")
    for attr in ("container_format", "disk_format"):
        if not getattr(image, attr):
            raise Conflict(f"'{attr}' needs to be set before import")
    _access.authorize(ctx, image_rules.MODIFY_IMAGE, image)
    stage = session.get(models.ImageStage, image_id)
    if stage is None:
        raise Conflict("Image needs to be staged before 'glance-direct' method can be used")
    if not _lock_status(session, image_id, ("uploading",), "importing"):
        raise Conflict(f"Image {image_id} is being imported already")
    return _Staged(
        task_id=tasks.start(session, ctx, image_id, request.body, deps.store.id),
        location=stage.location,
        inspection=stage.inspection,
        disk_format=image.disk_format,
        container_format=image.container_format,
    )


def _fail_import(deps: Deps, session: Session, image_id: str, task_id: str, reason: str) -> None:
    tasks.finish(session, task_id, reason)
    image = get_row(session, image_id)
    session.query(models.ImageStage).filter_by(image_id=image_id).delete()
    if image is not None and image.status == "importing":
        image.status = "queued"
        image.size = None
        image.updated_at = timeutils.utcnow()
        _set_property(image, "os_glance_failed_import", deps.store.id)
        _set_property(image, "os_glance_importing_to_stores", "")


def _finish_import(
    deps: Deps,
    session: Session,
    image_id: str,
    task_id: str,
    location: str,
    virtual_size: int | None,
) -> None:
    image = get_row(session, image_id)
    stage = session.get(models.ImageStage, image_id)
    if image is None or image.status != "importing" or stage is None:
        raise Gone(f"Image {image_id} was deleted during its import.")
    image.status = "active"
    image.size = stage.size
    image.virtual_size = virtual_size
    image.checksum = stage.checksum
    image.os_hash_algo = stage.os_hash_algo
    image.os_hash_value = stage.os_hash_value
    image.location = location
    image.store = deps.store.id
    image.updated_at = timeutils.utcnow()
    _set_property(image, "os_glance_importing_to_stores", "")
    _set_property(image, "os_glance_failed_import", "")
    session.delete(stage)
    tasks.finish(session, task_id, None)


# -- download -----------------------------------------------------------------


def open_download(
    deps: Deps,
    ctx: RequestContext,
    image_id: str,
    byte_range: tuple[int | None, int | None] | None,
) -> Download | None:
    """The data to send, or None when the image has none (204)."""
    with deps.db.reader() as session:
        image = _access.load(session, ctx, image_id)
        if image.status == "deactivated" and not ctx.is_admin:
            raise Forbidden(
                "The requested image has been deactivated. Image data download is forbidden."
            )
        _access.authorize(ctx, image_rules.DOWNLOAD_IMAGE, image)
        location, size, checksum = image.location, image.size or 0, image.checksum
    if not location:
        return None
    offset, length = 0, None
    if byte_range is not None:
        offset, length = resolve_range(byte_range[0], byte_range[1], size)
    try:
        reader = deps.store.open_reader(location, offset, length)
    except DataNotFound:
        return None
    return Download(reader, size, offset, checksum, partial=byte_range is not None)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TinystackError):
        return exc.message
    return str(exc) or type(exc).__name__


def _set_property(image: models.Image, name: str, value: str) -> None:
    for prop in image.properties:
        if prop.name == name:
            prop.value = value
            return
    image.properties.append(models.ImageProperty(name=name, value=value))
