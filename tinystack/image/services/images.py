"""Image records: create, show, list, update (JSON patch), delete, deactivate/reactivate."""

from __future__ import annotations

import builtins
import logging
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import Conflict, Forbidden, NotFound, PolicyNotAuthorized
from tinystack.image import models, validation
from tinystack.image.policies import images as image_rules
from tinystack.image.services import access, listing, quotas
from tinystack.image.services.common import Deps, ImageRecord, enforce_count, utcnow
from tinystack.image.store.base import StoreError
from tinystack.image.validation import Change

LOG = logging.getLogger(__name__)

#: base attributes a PATCH may set, and the ones only settable while there is no data
SETTABLE = tuple(a for a in validation.WRITABLE if a not in ("id", "tags"))
FORMAT_ATTRS = ("disk_format", "container_format")


class Images:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # -- read -----------------------------------------------------------------

    def show(self, ctx: RequestContext, image_id: str) -> ImageRecord:
        with self.deps.db.reader() as session:
            image = access.load_authorized(session, ctx, image_id, image_rules.GET_IMAGE)
            return ImageRecord.from_model(image)

    def list(
        self, ctx: RequestContext, pairs: Sequence[tuple[str, str]]
    ) -> tuple[list[ImageRecord], str | None]:
        ctx.can(image_rules.GET_IMAGES, {"project_id": ctx.project_id})
        opts = self.deps.opts
        query = listing.parse(
            pairs, default_limit=opts.limit_param_default, max_limit=opts.api_limit_max
        )
        with self.deps.db.reader() as session:
            return listing.list_images(session, ctx, query)

    # -- create ---------------------------------------------------------------

    def create(self, ctx: RequestContext, body: Any) -> ImageRecord:
        request = validation.parse_create(body, self.deps.formats)
        attrs = request.attrs
        owner = attrs.get("owner", ctx.project_id)
        visibility = attrs.get("visibility", "shared")
        target = {"project_id": owner, "owner": owner, "visibility": visibility}
        if not ctx.allowed(image_rules.ADD_IMAGE, target):
            if owner != ctx.project_id:
                raise PolicyNotAuthorized(
                    f"You are not permitted to create images owned by '{owner}'"
                )
            ctx.can(image_rules.ADD_IMAGE, target)
        _authorize_visibility(ctx, visibility, target)
        enforce_count(self.deps.opts.image_property_quota, len(request.properties), "properties")
        enforce_count(self.deps.opts.image_tag_quota, len(request.tags), "tags")
        image_id = attrs.pop("id", None) or str(uuid.uuid4())

        def txn(session: Session) -> ImageRecord:
            quotas.enforce(session, self.deps.conf, "image_count_total", owner, 1)
            if session.get(models.Image, image_id) is not None:
                raise Conflict(f"Image with identifier {image_id} already exists!")
            now = utcnow()
            image = models.Image(
                id=image_id,
                name=attrs.get("name"),
                status="queued",
                visibility=visibility,
                owner=owner,
                protected=attrs.get("protected", False),
                os_hidden=attrs.get("os_hidden", False),
                disk_format=attrs.get("disk_format"),
                container_format=attrs.get("container_format"),
                min_disk=attrs.get("min_disk", 0),
                min_ram=attrs.get("min_ram", 0),
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
            return ImageRecord.from_model(image)

        return self.deps.db.write(txn)

    # -- update ---------------------------------------------------------------

    def update(self, ctx: RequestContext, image_id: str, body: Any, draft: int) -> ImageRecord:
        changes = validation.parse_patch(body, draft, self.deps.formats)

        def txn(session: Session) -> ImageRecord:
            image = access.load(session, ctx, image_id)
            if changes:
                for change in changes:
                    self._apply(ctx, image, change)
                opts = self.deps.opts
                enforce_count(opts.image_property_quota, len(image.properties), "properties")
                enforce_count(opts.image_tag_quota, len(image.tags), "tags")
                image.updated_at = utcnow()
                session.flush()
            return ImageRecord.from_model(image)

        return self.deps.db.write(txn)

    def _apply(self, ctx: RequestContext, image: models.Image, change: Change) -> None:
        name = change.name
        if name == "visibility" and change.op != "remove":
            _authorize_visibility(ctx, change.value, access.target(ctx, image))
        access.authorize(ctx, image_rules.MODIFY_IMAGE, image)
        if name == "owner" and change.op != "remove" and not ctx.is_admin:
            raise Forbidden("Owner can't be updated by non admin.")
        if name == "tags":
            if change.op == "remove":
                raise Forbidden(f"Property {name} may not be removed.")
            _set_tags(image, validation.check_tags(change.value))
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

    # -- delete and actions ---------------------------------------------------

    def delete(self, ctx: RequestContext, image_id: str) -> None:
        def txn(session: Session) -> tuple[str | None, str | None]:
            image = access.load_authorized(session, ctx, image_id, image_rules.DELETE_IMAGE)
            if image.protected:
                raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
            stage = session.get(models.ImageStage, image_id)
            staged = stage.location if stage else None
            location = image.location
            now = utcnow()
            image.status = "deleted"
            image.deleted = True
            image.deleted_at = now
            image.updated_at = now
            image.location = None
            image.properties = []
            image.tags = []
            session.execute(
                delete(models.ImageMember).where(models.ImageMember.image_id == image_id)
            )
            session.execute(delete(models.ImageStage).where(models.ImageStage.image_id == image_id))
            return location, staged

        location, staged = self.deps.db.write(txn)
        for store, loc in ((self.deps.store, location), (self.deps.staging, staged)):
            if loc:
                try:
                    store.delete(loc)
                except (OSError, StoreError):
                    LOG.exception("could not delete the data of image %s at %s", image_id, loc)

    def deactivate(self, ctx: RequestContext, image_id: str) -> None:
        self._toggle(ctx, image_id, image_rules.DEACTIVATE, "active", "deactivated")

    def reactivate(self, ctx: RequestContext, image_id: str) -> None:
        self._toggle(ctx, image_id, image_rules.REACTIVATE, "deactivated", "active")

    def _toggle(self, ctx: RequestContext, image_id: str, rule: str, old: str, new: str) -> None:
        def txn(session: Session) -> None:
            image = access.load_authorized(session, ctx, image_id, rule)
            if image.status == new:
                return
            if image.status != old:
                raise Forbidden(f"Not allowed to {rule} image in status '{image.status}'")
            image.status = new
            image.updated_at = utcnow()

        self.deps.db.write(txn)

    # -- tags -----------------------------------------------------------------

    def add_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        validation.check_tag(tag)

        def txn(session: Session) -> None:
            image = access.load_authorized(session, ctx, image_id, image_rules.MODIFY_IMAGE)
            values = [t.value for t in image.tags]
            if tag in values:
                return
            enforce_count(self.deps.opts.image_tag_quota, len(values) + 1, "tags")
            position = max((t.position for t in image.tags), default=-1) + 1
            image.tags.append(models.ImageTag(value=tag, position=position))
            image.updated_at = utcnow()

        self.deps.db.write(txn)

    def delete_tag(self, ctx: RequestContext, image_id: str, tag: str) -> None:
        def txn(session: Session) -> None:
            image = access.load_authorized(session, ctx, image_id, image_rules.MODIFY_IMAGE)
            found = [t for t in image.tags if t.value == tag]
            if not found:
                raise NotFound(f"Tag {tag} not found on image {image_id}.")
            image.tags.remove(found[0])
            image.updated_at = utcnow()

        self.deps.db.write(txn)

    # -- quota usage ------------------------------------------------------------

    def usage(self, ctx: RequestContext) -> builtins.list[quotas.Usage]:
        with self.deps.db.reader() as session:
            return quotas.report(session, self.deps.conf, ctx.project_id)


def _authorize_visibility(ctx: RequestContext, visibility: str, target: dict[str, Any]) -> None:
    tgt = {**target, "visibility": visibility}
    if visibility == "public":
        ctx.can(image_rules.PUBLICIZE_IMAGE, tgt)
    elif visibility == "community":
        ctx.can(image_rules.COMMUNITIZE_IMAGE, tgt)


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
