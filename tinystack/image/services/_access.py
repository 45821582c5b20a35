"""Loading images, who may see them, and policy on images with upstream's 404-versus-403 rule.

Glance authorizes here, in the service layer, because the target of every image
rule is the image itself (owner, visibility, the caller's membership): it must
be loaded (or, on create, its owner and visibility known) first. Every image rule
goes through :func:`authorize` or :func:`authorize_new`; handlers check only the
rules whose target is the caller's project (``get_images``, ``stores_info_detail``).

Visibility first (upstream does it in its database layer): admins see every
image; others see public and community images, their project's images, and
shared images their project is a member of (in any member status for a direct
lookup; lists take ``member_status``, default accepted). Policy then decides
what the caller may do; a denied action on an image the caller cannot even
``get_image`` answers 404, so nothing leaks about images one cannot see.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import PolicyNotAuthorized
from tinystack.image import models
from tinystack.image.exception import ImageNotFound
from tinystack.image.policies import images as image_rules

#: a policy target: the image's owner, visibility, status and the caller's membership
Target = dict[str, str | None]


def get_row(session: Session, image_id: str, *, lock: bool = False) -> models.Image | None:
    """The image row, unless it is deleted (whoever asks); ``lock``: locked for the rest of
    the transaction (on MariaDB/PostgreSQL; SQLite's writers are serialized anyway)."""
    query = select(models.Image).where(models.Image.id == image_id, models.Image.deleted.is_(False))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    image: models.Image | None = session.execute(query).scalar_one_or_none()
    return image


def member_of(session: Session, image_id: str, project_id: str | None) -> models.ImageMember | None:
    if project_id is None:
        return None
    member: models.ImageMember | None = session.get(models.ImageMember, (image_id, project_id))
    return member


def is_visible(session: Session, ctx: RequestContext, image: models.Image) -> bool:
    if ctx.is_admin or image.owner is None:
        return True
    if image.visibility in ("public", "community"):
        return True
    if ctx.project_id is not None and ctx.project_id == image.owner:
        return True
    if image.visibility == "shared":
        return member_of(session, image.id, ctx.project_id) is not None
    return False


def load(session: Session, ctx: RequestContext, image_id: str) -> models.Image:
    """The image, if it exists and the caller can see it; 404 otherwise."""
    image = get_row(session, image_id)
    if image is None or not is_visible(session, ctx, image):
        raise ImageNotFound(image_id)
    return image


def target(ctx: RequestContext, image: models.Image) -> Target:
    member = None
    if image.visibility == "shared" and ctx.project_id != image.owner:
        member = ctx.project_id
    return {
        "project_id": image.owner,
        "owner": image.owner,
        "visibility": image.visibility,
        "member_id": member,
        "id": image.id,
        "image_id": image.id,
        "status": image.status,
    }


def authorize(ctx: RequestContext, rule: str, image: models.Image) -> None:
    """Enforce ``rule`` on ``image``: 403 if the caller may see it, 404 if not."""
    tgt = target(ctx, image)
    if ctx.allowed(rule, tgt):
        return
    if rule == image_rules.GET_IMAGE or not ctx.allowed(image_rules.GET_IMAGE, tgt):
        raise ImageNotFound(image.id)
    raise PolicyNotAuthorized(f"You are not authorized to perform the requested action: {rule}.")


def load_authorized(
    session: Session, ctx: RequestContext, image_id: str, rule: str
) -> models.Image:
    image = load(session, ctx, image_id)
    authorize(ctx, rule, image)
    return image


def authorize_new(ctx: RequestContext, owner: str | None, visibility: str) -> None:
    """``add_image`` (and the visibility rules) for an image about to be created."""
    tgt: Target = {"project_id": owner, "owner": owner, "visibility": visibility}
    if not ctx.allowed(image_rules.ADD_IMAGE, tgt):
        if owner != ctx.project_id:
            raise PolicyNotAuthorized(f"You are not permitted to create images owned by '{owner}'")
        ctx.can(image_rules.ADD_IMAGE, tgt)
    authorize_visibility(ctx, visibility, tgt)


def authorize_visibility(ctx: RequestContext, visibility: str, tgt: Target) -> None:
    """Making an image public or community takes its own rule."""
    changed = {**tgt, "visibility": visibility}
    if visibility == "public":
        ctx.can(image_rules.PUBLICIZE_IMAGE, changed)
    elif visibility == "community":
        ctx.can(image_rules.COMMUNITIZE_IMAGE, changed)


def visible_member_rows(
    session: Session, ctx: RequestContext, image: models.Image
) -> list[models.ImageMember]:
    """The memberships the caller may know about: all for the owner and admins, else its own."""
    query = select(models.ImageMember).where(models.ImageMember.image_id == image.id)
    if not ctx.is_admin and ctx.project_id != image.owner:
        query = query.where(models.ImageMember.member == (ctx.project_id or ""))
    return list(session.execute(query.order_by(models.ImageMember.created_at)).scalars())
