"""Image tags: add and remove one tag (``PUT/DELETE /v2/images/{id}/tags/{tag}``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import NotFound
from tinystack.image import models
from tinystack.image.policies import images as image_rules
from tinystack.image.services import _access, image_attributes, quotas
from tinystack.image.services.deps import Deps


def add(deps: Deps, ctx: RequestContext, image_id: str, tag: str) -> None:
    image_attributes.check_tag(tag)

    def txn(session: Session) -> None:
        image = _access.load_authorized(session, ctx, image_id, image_rules.MODIFY_IMAGE)
        values = [t.value for t in image.tags]
        if tag in values:
            return
        quotas.enforce_count(deps.opts.image_tag_quota, len(values) + 1, "tags")
        position = max((t.position for t in image.tags), default=-1) + 1
        image.tags.append(models.ImageTag(value=tag, position=position))
        image.updated_at = timeutils.utcnow()

    deps.db.write(txn)


def delete(deps: Deps, ctx: RequestContext, image_id: str, tag: str) -> None:
    def txn(session: Session) -> None:
        image = _access.load_authorized(session, ctx, image_id, image_rules.MODIFY_IMAGE)
        found = [t for t in image.tags if t.value == tag]
        if not found:
            raise NotFound(f"Tag {tag} not found on image {image_id}.")
        image.tags.remove(found[0])
        image.updated_at = timeutils.utcnow()

    deps.db.write(txn)
