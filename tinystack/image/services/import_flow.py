"""The work of an import task, on the tasks pool: data into staging, plugins, stores.

1. *Acquire*: the data ends up in the staging area, hashed and inspected — it is
   there already for glance-direct; web-download fetches the URL; glance-download
   reads the other region's image (and copies its formats and the configured
   properties); copy-image reads an existing copy.
2. *Plugins*: ``image_conversion`` rewrites the staged data (qemu-img) and its digest.
3. The format verdict (as for uploads), then one copy per target store. Each store
   is its own transaction: its location is added and it leaves
   ``os_glance_importing_to_stores``; the first success makes the image ``active``.
   A failed store joins ``os_glance_failed_import``; with ``all_stores_must_succeed``
   it fails the whole import, and the copies made are removed again.
4. The task records the outcome; the import lock is released; an image no store
   took goes back to ``queued`` (its staged data is dropped).

A process killed in the middle leaves a task ``processing``: :func:`recover` (at
start) fails it and unlocks the image, so nothing stays stuck.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.exceptions import Gone, TinystackError
from tinystack.image import models
from tinystack.image.services import _locations, conversion, format_inspection, import_sources
from tinystack.image.services._access import get_row
from tinystack.image.services.deps import Deps
from tinystack.image.services.format_inspection import Inspection
from tinystack.image.services.image_props import (
    IMPORTING,
    LOCK,
    drop_property,
    get_property,
    move_store,
    set_property,
    store_list,
)
from tinystack.image.services.sink import DataSink, Digest
from tinystack.image.services.tasks import finish
from tinystack.image.store.base import DataReader, Store, StoreError
from tinystack.image.store.file import FileStore

LOG = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Job:
    task_id: str
    image_id: str
    method: str
    stores: tuple[str, ...]
    must_succeed: bool
    uri: str | None
    remote: dict[str, str]
    disk_format: str | None
    container_format: str | None
    owner: str | None


@dataclass(frozen=True, slots=True)
class Staged:
    location: str
    digest: Digest


class ImportFailed(Exception):
    pass


def run(deps: Deps, task_id: str, token: str | None) -> None:
    """Do the import of task ``task_id`` (never raises: the task records failures)."""
    try:
        job = deps.db.write(lambda s: _claim(s, task_id))
    except Exception:
        LOG.exception("import task %s could not start", task_id)
        return
    if job is not None:
        execute(deps, job, token)


def execute(deps: Deps, job: Job, token: str | None) -> None:
    """Import into ``job``'s image (locked and ``importing``, or active for copy-image)."""
    task_id = job.task_id
    staged: Staged | None = None
    try:
        job, staged = _acquire(deps, job, token)
        job, staged = _plugins(deps, job, staged)
        virtual_size = None
        if job.method != "copy-image":
            virtual_size = format_inspection.verdict(
                staged.digest.inspection,
                job.disk_format,
                job.container_format,
                require_match=deps.opts.require_image_format_match,
            )
        _distribute(deps, job, staged, virtual_size)
    except Exception as exc:
        LOG.info("import task %s failed: %s", task_id, reason(exc))
        _settle(deps, job, reason(exc))
    else:
        _settle(deps, job, None)
    finally:
        if staged is not None:
            _forget(deps.staging, staged.location)


def reason(exc: BaseException) -> str:
    if isinstance(exc, TinystackError):
        return exc.message
    return str(exc) or type(exc).__name__


def _claim(session: Session, task_id: str) -> Job | None:
    task = session.get(models.ImageTask, task_id)
    if task is None or task.status != "pending" or task.image_id is None:
        return None
    task.status = "processing"
    task.updated_at = timeutils.utcnow()
    image = get_row(session, task.image_id)
    if image is None:
        finish(session, task_id, "The image was deleted before its import started.")
        return None
    request = task.input.get("import_req") or {}
    method = request.get("method") or {}
    remote = {}
    if method.get("name") == "glance-download":
        remote = {
            "region": str(method.get("glance_region")),
            "image_id": str(method.get("glance_image_id")),
            "interface": str(method.get("glance_service_interface") or "public"),
        }
    return Job(
        task_id=task_id,
        image_id=image.id,
        method=str(method.get("name")),
        stores=tuple(task.input.get("backend") or ()),
        must_succeed=bool(request.get("all_stores_must_succeed", True)),
        uri=method.get("uri"),
        remote=remote,
        disk_format=image.disk_format,
        container_format=image.container_format,
        owner=image.owner,
    )


# -- 1. acquire ---------------------------------------------------------------------------


def _acquire(deps: Deps, job: Job, token: str | None) -> tuple[Job, Staged]:
    if job.method == "glance-direct":
        return job, _staged_upload(deps, job.image_id)
    if job.method == "web-download":
        assert job.uri is not None
        with import_sources.web_stream(deps.opts, job.uri) as chunks:
            return job, _stage(deps, job.image_id, chunks)
    if job.method == "glance-download":
        remote = import_sources.remote_image(deps.auth_url, token, job.remote)
        job = _adopt_remote_attributes(deps, job, remote.image)
        with import_sources.remote_data(remote) as chunks:
            return job, _stage(deps, job.image_id, chunks)
    return job, _stage_copy(deps, job)


def _staged_upload(deps: Deps, image_id: str) -> Staged:
    with deps.db.reader() as session:
        stage = session.get(models.ImageStage, image_id)
        if stage is None:
            raise ImportFailed("The staged data is gone.")
        digest = Digest(
            size=stage.size,
            checksum=stage.checksum,
            os_hash_algo=stage.os_hash_algo,
            os_hash_value=stage.os_hash_value,
            inspection=Inspection.from_dict(stage.inspection),
        )
        return Staged(stage.location, digest)


def _stage(deps: Deps, key: str, chunks: Iterable[bytes]) -> Staged:
    """Write ``chunks`` into the staging area, hashed and inspected."""
    cap = deps.opts.image_size_cap
    sink = DataSink(
        deps.staging.open_writer(key),
        hash_algo=deps.opts.hashing_algorithm,
        max_bytes=cap,
        too_large=f"The incoming image is too large: more than {cap} bytes",
    )
    try:
        batch: list[bytes] = []
        for chunk in chunks:
            batch.append(chunk)
            if sum(len(c) for c in batch) >= 4 * 1024 * 1024:
                sink.write(batch)
                batch = []
        if batch:
            sink.write(batch)
        digest = sink.finish()
        location = sink.writer.commit()
    except BaseException:
        sink.close()
        sink.writer.abort()
        raise
    return Staged(location, digest)


def _stage_copy(deps: Deps, job: Job) -> Staged:
    with deps.db.reader() as session:
        image = get_row(session, job.image_id)
        copies = [(c.url, c.store) for c in image.locations] if image is not None else []
    for url, store_id in copies:
        try:
            reader = deps.stores.for_location(url, store_id).open_reader(url)
        except StoreError:
            continue
        try:
            return _stage(deps, job.image_id, _read_all(reader))
        finally:
            reader.close()
    raise ImportFailed("No copy of the image data could be read.")


def _read_all(reader: DataReader) -> Iterator[bytes]:
    while chunk := reader.read():
        yield chunk


def _adopt_remote_attributes(deps: Deps, job: Job, remote: dict[str, object]) -> Job:
    """The remote image's formats and configured properties, onto ours (as upstream)."""
    props = import_sources.copied_properties(deps.opts, dict(remote))
    disk = remote.get("disk_format")
    container = remote.get("container_format")

    def txn(session: Session) -> None:
        image = get_row(session, job.image_id)
        if image is None:
            raise Gone(f"Image {job.image_id} was deleted during its import.")
        image.disk_format = str(disk) if disk else image.disk_format
        image.container_format = str(container) if container else image.container_format
        for name, value in props.items():
            set_property(image, name, value)

    deps.db.write(txn)
    return replace(
        job,
        disk_format=str(disk) if disk else job.disk_format,
        container_format=str(container) if container else job.container_format,
    )


# -- 2. plugins ---------------------------------------------------------------------------


def _plugins(deps: Deps, job: Job, staged: Staged) -> tuple[Job, Staged]:
    if "image_conversion" not in deps.opts.import_plugins or job.method == "copy-image":
        return job, staged
    output = deps.opts.conversion_output_format
    detected = format_inspection.detected_format(staged.digest.inspection)
    failure = staged.digest.inspection.failures.get(detected)
    if failure:
        raise ImportFailed(f"Image data failed safety checks ({detected}): {failure}")
    if not conversion.needed(detected, output):
        return job, staged
    staging = deps.staging
    assert isinstance(staging, FileStore)
    source = staging.path_of(staged.location)
    target = source.with_name(f"{job.image_id}.{uuid.uuid4().hex}.converting")
    try:
        conversion.convert(source, detected, output, target)
        with open(target, "rb") as converted:
            new = _stage(deps, job.image_id, iter(lambda: converted.read(1024 * 1024), b""))
    finally:
        target.unlink(missing_ok=True)
    LOG.info("image %s converted from %s to %s", job.image_id, detected, output)
    return replace(job, disk_format=output), new


# -- 3. stores ----------------------------------------------------------------------------


def _distribute(deps: Deps, job: Job, staged: Staged, virtual_size: int | None) -> None:
    done: list[tuple[Store, str]] = []
    failures: list[str] = []
    for store_id in job.stores:
        store = deps.stores.get(store_id)
        try:
            location = _copy(deps.staging, staged.location, store, job.image_id)
        except (OSError, StoreError) as exc:
            LOG.warning("import of %s into store %s failed: %s", job.image_id, store_id, exc)
            deps.db.write(functools.partial(_store_failed, job=job, store_id=store_id))
            failures.append(store_id)
            if job.must_succeed:
                break
            continue
        try:
            deps.db.write(
                functools.partial(
                    _store_done,
                    job=job,
                    store_id=store_id,
                    location=location,
                    digest=staged.digest,
                    virtual_size=virtual_size,
                )
            )
        except BaseException:
            _forget(store, location)
            raise
        done.append((store, location))
    if failures and (job.must_succeed or not done):
        if job.must_succeed:
            deps.db.write(lambda s: _revert(s, job, [loc for _, loc in done]))
            for store, location in done:
                _forget(store, location)
        raise ImportFailed(f"Import into stores {', '.join(failures)} failed.")


def _copy(source: Store, location: str, target: Store, key: str) -> str:
    reader = source.open_reader(location)
    try:
        writer = target.open_writer(key)
        try:
            while chunk := reader.read():
                writer.write((chunk,))
            return writer.commit()
        except BaseException:
            writer.abort()
            raise
    finally:
        reader.close()


def _store_done(
    session: Session,
    job: Job,
    store_id: str,
    location: str,
    digest: Digest,
    virtual_size: int | None,
) -> None:
    image = get_row(session, job.image_id)
    if image is None:
        raise Gone(f"Image {job.image_id} was deleted during its import.")
    _locations.add(image, location, store_id)
    move_store(image, store_id, failed=False)
    if image.status == "importing":
        image.status = "active"
        image.size = digest.size
        image.virtual_size = virtual_size
        image.checksum = digest.checksum
        image.os_hash_algo = digest.os_hash_algo
        image.os_hash_value = digest.os_hash_value
        image.disk_format = job.disk_format
    image.updated_at = timeutils.utcnow()


def _store_failed(session: Session, job: Job, store_id: str) -> None:
    image = get_row(session, job.image_id)
    if image is not None:
        move_store(image, store_id, failed=True)


def _revert(session: Session, job: Job, urls: list[str]) -> None:
    image = get_row(session, job.image_id)
    if image is None:
        return
    for loc in [loc for loc in image.locations if loc.url in urls]:
        _locations.remove(image, loc)
    if job.method != "copy-image" and not image.locations:
        image.status = "importing"  # _settle puts it back in queued


# -- 4. outcome ---------------------------------------------------------------------------


def _settle(deps: Deps, job: Job, failure: str | None) -> None:
    dropped: list[str] = []

    def txn(session: Session) -> None:
        finish(session, job.task_id, failure)
        image = get_row(session, job.image_id)
        if image is None:
            return
        drop_property(image, LOCK)
        stage = session.get(models.ImageStage, job.image_id)
        if stage is not None and (failure is None or job.method == "glance-direct"):
            dropped.append(stage.location)
            session.delete(stage)
        if image.status == "importing":
            image.status = "queued"
            image.size = None
            image.checksum = image.os_hash_algo = image.os_hash_value = None
            if failure is not None:
                for store_id in store_list(get_property(image, IMPORTING)):
                    move_store(image, store_id, failed=True)
        image.updated_at = timeutils.utcnow()

    try:
        deps.db.write(txn)
    except Exception:
        LOG.exception("could not record the outcome of import task %s", job.task_id)
    for location in dropped:
        _forget(deps.staging, location)


def _forget(store: Store, location: str) -> None:
    try:
        store.delete(location)
    except (OSError, StoreError):
        LOG.exception("could not remove image data at %s", location)


def recover(deps: Deps) -> int:
    """Fail the tasks a previous process left unfinished and unlock their images."""
    interrupted = "The task was interrupted by a restart of the image service."

    def txn(session: Session) -> list[str]:
        rows = session.execute(
            select(models.ImageTask).where(models.ImageTask.status.in_(("pending", "processing")))
        ).scalars()
        stuck = []
        for task in rows:
            if task.image_id is None:  # a legacy import that had not created its image yet
                finish(session, task.id, interrupted)
            stuck.append(task.id)
        return stuck

    stuck = deps.db.write(txn)
    for task_id in stuck:
        job = deps.db.write(functools.partial(_claim_any, task_id=task_id))
        if job is not None:
            _settle(deps, job, interrupted)
    return len(stuck)


def _claim_any(session: Session, task_id: str) -> Job | None:
    task = session.get(models.ImageTask, task_id)
    if task is not None and task.status == "processing":
        task.status = "pending"
    return _claim(session, task_id)
