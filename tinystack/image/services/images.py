"""Images: create, show, list, update (JSON patch), delete, deactivate/reactivate."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import delete as sql_delete
from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import Conflict, Forbidden
from tinystack.image import models
from tinystack.image.policies import images as image_rules
from tinystack.image.services import (
    _access,
    _locations,
    image_attributes,
    image_location_patch,
    listing,
    quotas,
)
from tinystack.image.services.deps import Deps
from tinystack.image.services.image_attributes import Change, CreateRequest
from tinystack.image.services.records import ImageRecord
from tinystack.image.store.base import StoreError

LOG = logging.getLogger(__name__)

#: base attributes a PATCH may set, and the ones only settable while there is no data
SETTABLE = tuple(a for a in image_attributes.WRITABLE if a not in ("id", "tags"))
FORMAT_ATTRS = ("disk_format", "container_format")


# -- read ---------------------------------------------------------------------


def show(deps: Deps, ctx: RequestContext, image_id: str) -> ImageRecord:
    with deps.db.reader() as session:
        image = _access.load_authorized(session, ctx, image_id, image_rules.GET_IMAGE)
        return _record(deps, ctx, image)


def _record(deps: Deps, ctx: RequestContext, image: models.Image) -> ImageRecord:
    """The image's record, with its locations and direct URL when the caller is shown
    them."""
    direct_url = None
    if deps.opts.show_image_direct_url and image.location:
        if ctx.allowed(image_rules.GET_IMAGE_LOCATION, _access.target(ctx, image)):
            direct_url = image.location
    if image_location_patch.shown(deps, ctx, image):
        locations = image_location_patch.attach_view(image)
        return ImageRecord.from_model(image, locations, direct_url=direct_url)
    return ImageRecord.from_model(image, direct_url=direct_url)


def list_images(
    deps: Deps, ctx: RequestContext, pairs: Sequence[tuple[str, str]]
) -> tuple[list[ImageRecord], str | None]:
    """One page of the images the caller sees (``pairs``: the query string) and the next marker."""
    opts = deps.opts
    query = listing.parse(
        pairs, default_limit=opts.limit_param_default, max_limit=opts.api_limit_max
    )
    with deps.db.reader() as session:
        return listing.list_images(session, ctx, query)


# -- create -------------------------------------------------------------------


def create(deps: Deps, ctx: RequestContext, request: CreateRequest) -> ImageRecord:
    owner = request.owner if request.owner_given else ctx.project_id
    visibility = request.visibility
    _access.authorize_new(ctx, owner, visibility)
    quotas.enforce_count(deps.opts.image_property_quota, len(request.properties), "properties")
    quotas.enforce_count(deps.opts.image_tag_quota, len(request.tags), "tags")
    image_id = request.id or timeutils.new_uuid()

    def txn(session: Session) -> ImageRecord:
        quotas.enforce(session, deps.opts, "image_count_total", owner, 1)
        if session.get(models.Image, image_id) is not None:
            raise Conflict(f"Image with identifier {image_id} already exists!")
        now = timeutils.utcnow()
        image = models.Image(
            id=image_id,
            name=request.name,
            status="queued",
            visibility=visibility,
            owner=owner,
            protected=request.protected,
            os_hidden=request.os_hidden,
            disk_format=request.disk_format,
            container_format=request.container_format,
            min_disk=request.min_disk,
            min_ram=request.min_ram,
            created_at=now,
            updated_at=now,
            deleted=False,
        )
        image.properties = [
            models.ImageProperty(name=k, value=v) for k, v in request.properties.items()
        ]
        image.tags = [models.ImageTag(value=t, position=i) for i, t in enumerate(request.tags)]
        session.add(image)
        session.flush()
        return _record(deps, ctx, image)

    return deps.db.write(txn)


# -- update -------------------------------------------------------------------


def update(
    deps: Deps, ctx: RequestContext, image_id: str, changes: Sequence[Change]
) -> ImageRecord:
    """Apply checked JSON-patch ``changes`` (see :func:`image_attributes.parse_patch`)."""

    prepared = image_location_patch.prepare(deps, changes)
    gone: list[tuple[str, str | None]] = []

    def txn(session: Session) -> ImageRecord:
        gone.clear()
        image = _access.load(session, ctx, image_id)
        if changes:
            for position, change in enumerate(changes):
                if change.name == "locations":
                    new = prepared.get(position)
                    image_location_patch.apply(ctx, image, change, new, gone)
                else:
                    _apply(ctx, image, change)
            opts = deps.opts
            quotas.enforce_count(opts.image_property_quota, len(image.properties), "properties")
            quotas.enforce_count(opts.image_tag_quota, len(image.tags), "tags")
            image.updated_at = timeutils.utcnow()
            session.flush()
        return _record(deps, ctx, image)

    record = deps.db.write(txn)
    image_location_patch.drop_data(deps, gone)
    return record


def _apply(ctx: RequestContext, image: models.Image, change: Change) -> None:
    name = change.name
    if name == "visibility" and change.op != "remove":
        _access.authorize_visibility(ctx, change.value, _access.target(ctx, image))
    _access.authorize(ctx, image_rules.MODIFY_IMAGE, image)
    if name == "owner" and change.op != "remove" and not ctx.is_admin:
        raise Forbidden("Owner can't be updated by non admin.")
    if name == "tags":
        if change.op == "remove":
            raise Forbidden(f"Property {name} may not be removed.")
        _set_tags(image, image_attributes.check_tags(change.value))
    elif name in SETTABLE:
        if change.op == "remove":
            raise Forbidden(f"Property {name} may not be removed.")
        if change.op == "add" and change.draft == 4:
            raise Conflict(f"Property {name} already present.")
        if name in FORMAT_ATTRS and image.status not in ("queued", "importing"):
            raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
        setattr(image, name, change.value)
    else:
        _apply_property(image, change)


def _set_tags(image: models.Image, tags: list[str]) -> None:
    existing = {t.value: t for t in image.tags}
    image.tags = [
        existing.get(t) or models.ImageTag(value=t, position=i) for i, t in enumerate(tags)
    ]
    for position, tag in enumerate(image.tags):
        tag.position = position


def _apply_property(image: models.Image, change: Change) -> None:
    current = {p.name: p for p in image.properties}
    prop = current.get(change.name)
    if change.op == "remove":
        if prop is None:
            raise Conflict(f"Property {change.name} does not exist.")
        image.properties.remove(prop)
    elif change.op == "replace" and prop is None:
        raise Conflict(f"Property {change.name} does not exist.")
    elif prop is not None:
        if change.op == "add" and change.draft == 4:
            raise Conflict(f"Property {change.name} already present.")
        prop.value = change.value
    else:
        image.properties.append(models.ImageProperty(name=change.name, value=change.value))


# -- delete and actions -------------------------------------------------------


def _refuse_if_in_use(deps: Deps, ctx: RequestContext, image_id: str) -> None:
    """409 while a store says something outside the image service depends on the data
    (clones of an rbd image's snapshot), as Glance's ``InUseByStore``."""
    with deps.db.reader() as session:
        image = _access.load_authorized(session, ctx, image_id, image_rules.DELETE_IMAGE)
        urls = [(loc.url, loc.store) for loc in image.locations]
    for url, store_id in urls:
        try:
            in_use = deps.stores.for_location(url, store_id).in_use(url)
        except (OSError, StoreError):
            LOG.warning("image %s: could not tell whether %s is in use", image_id, url)
            continue
        if in_use:
            raise Conflict(
                f"Image {image_id} could not be deleted because it is in use: The image "
                "cannot be deleted because it is in use through the backend store outside "
                "of Glance."
            )


def delete(deps: Deps, ctx: RequestContext, image_id: str) -> None:
    _refuse_if_in_use(deps, ctx, image_id)

    def txn(session: Session) -> tuple[list[tuple[str, str | None]], str | None]:
        image = _access.load_authorized(session, ctx, image_id, image_rules.DELETE_IMAGE)
        if image.protected:
            raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
        # an upload recording its location waits, or its location is seen and cleared
        _access.get_row(session, image_id, lock=True)
        stage = session.get(models.ImageStage, image_id)
        staged = stage.location if stage else None
        copies = _locations.clear(session, image)
        now = timeutils.utcnow()
        image.status = "deleted"
        image.deleted = True
        image.deleted_at = now
        image.updated_at = now
        image.properties = []
        image.tags = []
        session.execute(
            sql_delete(models.ImageMember).where(models.ImageMember.image_id == image_id)
        )
        session.execute(sql_delete(models.ImageStage).where(models.ImageStage.image_id == image_id))
        return copies, staged

    copies, staged = deps.db.write(txn)
    if staged:
        copies.append((staged, deps.staging.id))
    for url, store_id in copies:
        try:
            store = deps.staging if store_id == deps.staging.id else None
            (store or deps.stores.for_location(url, store_id)).delete(url)
        except (OSError, StoreError):
            LOG.exception("could not delete the data of image %s at %s", image_id, url)
    if deps.cache is not None:
        deps.cache.delete(image_id)
        deps.cache.dequeue(image_id)


def deactivate(deps: Deps, ctx: RequestContext, image_id: str) -> None:
    _toggle(deps, ctx, image_id, image_rules.DEACTIVATE, "active", "deactivated")


def reactivate(deps: Deps, ctx: RequestContext, image_id: str) -> None:
    _toggle(deps, ctx, image_id, image_rules.REACTIVATE, "deactivated", "active")


def _toggle(deps: Deps, ctx: RequestContext, image_id: str, rule: str, old: str, new: str) -> None:
    def txn(session: Session) -> None:
        image = _access.load_authorized(session, ctx, image_id, rule)
        if image.status == new:
            return
        if image.status != old:
            raise Forbidden(f"Not allowed to {rule} image in status '{image.status}'")
        image.status = new
        image.updated_at = timeutils.utcnow()

    deps.db.write(txn)
