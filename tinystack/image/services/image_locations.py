"""Where an image's data is: the location API (2.17) and deleting a copy from one store (2.10).

``POST /v2/images/{id}/locations`` gives a queued image data that a web server
holds (the ``http`` store reads it; the URL must pass the import filter, since the
service fetches it), or, for a caller with the ``service`` role only, data a service
put in one of the image stores itself (compute's direct snapshot of an RBD root disk:
``rbd://fsid/pool/image/snap``). The image becomes active once the service has read the data
to learn its size and digests, checked against the ``validation_data`` the
caller gave. ``GET .../locations`` is for services (``fetch_image_location``).
``DELETE /v2/stores/{store_id}/{image_id}`` removes one store's copy of an active
image that has another.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Conflict, Forbidden, NotFound, TinystackError
from tinystack.common.rpc.payload import JSON
from tinystack.image.policies import images as image_rules
from tinystack.image.services import _access, _locations, format_inspection, import_filter, tasks
from tinystack.image.services._access import get_row
from tinystack.image.services.deps import Deps
from tinystack.image.services.image_props import LOCK, drop_property, get_property, set_property
from tinystack.image.services.sink import DataSink
from tinystack.image.store.base import StoreError, StoreWriter

LOG = logging.getLogger(__name__)
HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True, slots=True)
class LocationView:
    url: str
    metadata: Mapping[str, JSON]


def get_locations(deps: Deps, ctx: RequestContext, image_id: str) -> list[LocationView]:
    with deps.db.reader() as session:
        image = _access.load(session, ctx, image_id)
        _access.authorize(ctx, image_rules.FETCH_IMAGE_LOCATION, image)
        return [
            LocationView(loc.url, _locations.metadata(loc))
            for loc in image.locations
            if loc.status == "active"
        ]


def check_validation_data(data: object) -> dict[str, str]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadRequest("validation_data must be an object")
    algo, value = data.get("os_hash_algo"), data.get("os_hash_value")
    if value is not None and algo is None:
        raise BadRequest("os_hash_algo must be provided with os_hash_value")
    if algo is not None:
        if algo not in HASH_LENGTHS or algo == "md5":
            raise BadRequest(f"Invalid os_hash_algo: {algo}")
        if not isinstance(value, str) or len(value) != HASH_LENGTHS[algo]:
            raise BadRequest(f"os_hash_value: {value} is not a valid hexadecimal {algo} value")
        try:
            int(value, 16)
        except ValueError:
            raise BadRequest(f"os_hash_value: {value} is not a valid hexadecimal value") from None
    return {"os_hash_algo": str(algo), "os_hash_value": str(value)} if algo else {}


def add_location(
    deps: Deps, ctx: RequestContext, image_id: str, url: object, validation: dict[str, str]
) -> None:
    """Record the location and start its ``location_import`` task (hashing in the background).

    As upstream, the location stays recorded if the data fails its validation (the
    image goes back to ``queued``; Glance bug 2076648 keeps it so too).
    """
    if not isinstance(url, str) or not url:
        raise BadRequest("'url' is required")
    try:
        store = deps.stores.for_location(url)
    except StoreError:
        raise BadRequest(f"No store handles the location {url}") from None
    store_id = store.id
    if store.type != "http":
        # a service's data in one of this cloud's stores (compute's direct snapshot of
        # an RBD root disk): only services may name one, as upstream
        if "service" not in ctx.roles:
            raise Forbidden("http store must be enabled to use location API by normal user.")
    elif not import_filter.allowed(deps.opts, url):
        raise BadRequest(f"URI for location does not pass filtering: {url}")

    def lock(session: Session) -> str:
        image = _access.load(session, ctx, image_id)
        if image.status != "queued":
            raise Conflict(f"It's not allowed to add locations if image status is {image.status}.")
        _access.authorize(ctx, image_rules.ADD_IMAGE_LOCATION, image)
        if get_property(image, LOCK):
            raise Conflict(
                f"New operation on image '{image_id}' is not permitted as prior operation "
                "is still in progress"
            )
        task_input: dict[str, JSON] = {
            "image_id": image_id,
            "loc_url": url,
            "validation_data": dict(validation),
        }
        task_id = tasks.start(session, ctx, image_id, task_input, task_type="location_import")
        set_property(image, LOCK, task_id)
        image.status = "importing"
        _locations.add(image, url, store_id)
        return task_id

    task_id = deps.db.write(lock)
    future = deps.tasks_pool.submit(_hash_location, deps, image_id, task_id, url, validation)
    try:
        future.result(timeout=deps.opts.import_settle_seconds)
    except concurrent.futures.TimeoutError:
        pass


def _hash_location(
    deps: Deps, image_id: str, task_id: str, url: str, validation: dict[str, str]
) -> None:
    """Read the data once (size, checksum, hash); the image is active, or queued again."""
    try:
        digest = _read(deps, url, validation)
    except Exception as exc:
        LOG.info("location %s of image %s refused: %s", url, image_id, exc)
        failure = exc.message if isinstance(exc, TinystackError) else str(exc)
        deps.db.write(lambda s: _unlock(s, image_id, task_id, None, failure))
        return
    deps.db.write(lambda s: _unlock(s, image_id, task_id, digest, None))


class _Discard(StoreWriter):
    def write(self, chunks: object) -> None:
        pass

    def commit(self) -> str:
        return ""

    def abort(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class _Read:
    size: int
    checksum: str
    algo: str
    value: str
    inspection: format_inspection.Inspection


def _read(deps: Deps, url: str, validation: dict[str, str]) -> _Read:
    store = deps.stores.for_location(url)
    algo = validation.get("os_hash_algo") or deps.opts.hashing_algorithm
    sink = DataSink(_Discard(), hash_algo=algo, max_bytes=deps.opts.image_size_cap, too_large="")
    try:
        reader = store.open_reader(url)
    except StoreError as exc:
        raise BadRequest(f"Cannot read image data at {url}: {exc}") from None
    try:
        while chunk := reader.read():
            sink.write([chunk])
    finally:
        reader.close()
    digest = sink.finish()
    if validation and validation["os_hash_value"] != digest.os_hash_value:
        raise BadRequest("os_hash_value of the data does not match the validation data")
    return _Read(digest.size, digest.checksum, algo, digest.os_hash_value, digest.inspection)


def _unlock(
    session: Session, image_id: str, task_id: str, read: _Read | None, failure: str | None
) -> None:
    tasks.finish(session, task_id, failure)
    image = get_row(session, image_id)
    if image is None:
        return
    drop_property(image, LOCK)
    image.updated_at = timeutils.utcnow()
    if read is None:
        image.status = "queued"
        return
    image.status = "active"
    image.size, image.checksum = read.size, read.checksum
    image.os_hash_algo, image.os_hash_value = read.algo, read.value
    image.virtual_size = format_inspection.verdict(
        read.inspection, image.disk_format, image.container_format, require_match=False
    )


def delete_from_store(deps: Deps, ctx: RequestContext, store_id: str, image_id: str) -> None:
    if not deps.opts.multi_store:
        raise NotFound("Multi-store is not configured at this site.")
    if not deps.stores.known(store_id):
        raise Conflict(f"The selected store {store_id} is not available on this node.")

    def txn(session: Session) -> str:
        image = _access.load(session, ctx, image_id)
        _access.authorize(ctx, image_rules.GET_IMAGE_LOCATION, image)
        _access.authorize(ctx, image_rules.DELETE_IMAGE_LOCATION, image)
        if image.status != "active":
            raise Conflict(
                "It's not allowed to remove image data from store if image status is not 'active'"
            )
        active = [loc for loc in image.locations if loc.status == "active"]
        if len(active) == 1:
            raise Forbidden(
                "Cannot delete image data from the only store containing it. Consider "
                "deleting the image instead."
            )
        location = _locations.in_store(image, store_id)
        if location is None:
            raise NotFound(f"Image {image_id} is not stored in store {store_id}.")
        url = location.url
        _locations.remove(image, location)
        image.updated_at = timeutils.utcnow()
        return url

    url = deps.db.write(txn)
    try:
        deps.stores.get(store_id).delete(url)
    except (OSError, StoreError):
        LOG.exception("could not delete the data of image %s in store %s", image_id, store_id)
