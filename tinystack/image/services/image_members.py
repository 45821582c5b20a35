"""Image sharing: the owner adds projects as members of a shared image; members accept it.

Only ``shared`` images have members (403 otherwise). The owner (or an admin)
adds and removes members; only the member itself (or an admin) changes its
status to ``accepted``, ``rejected`` or back to ``pending``. A member sees the
image whatever its status, but lists show it only once accepted (by default).
A member sees only its own membership; the owner sees them all.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common import timeutils
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Conflict, Forbidden, NotFound
from tinystack.image import models
from tinystack.image.policies import image_members as member_rules
from tinystack.image.services import _access, quotas
from tinystack.image.services.deps import Deps
from tinystack.image.services.records import MemberRecord

MEMBER_STATUSES = ("pending", "accepted", "rejected")


def parse_member_id(body: object) -> str:
    """The project of a ``POST .../members`` body (``{"member": "<project id>"}``)."""
    if not isinstance(body, dict):
        raise BadRequest('Expected a member in the form: {"member": "image_id"}')
    if "member" not in body:
        raise BadRequest("Member to be added not specified")
    member = body["member"]
    if not member:
        raise BadRequest("Member can't be empty")
    if not isinstance(member, str) or len(member) > 255:
        raise BadRequest("Member must be a project id of at most 255 characters")
    return member


def parse_status(body: object) -> str:
    """The status of a ``PUT .../members/{member_id}`` body (``{"status": "accepted"}``)."""
    if not isinstance(body, dict):
        raise BadRequest('Expected a status in the form: {"status": "status"}')
    if "status" not in body:
        raise BadRequest("Status not specified")
    status = body["status"]
    if status not in MEMBER_STATUSES:
        raise BadRequest('Incorrect request: Status must be "pending", "accepted" or "rejected".')
    return str(status)


def _shared_only(image: models.Image) -> None:
    if image.visibility != "shared":
        raise Forbidden("Only shared images have members.")


def _member(
    session: Session, ctx: RequestContext, image: models.Image, member_id: str
) -> models.ImageMember:
    _access.authorize(ctx, member_rules.GET_MEMBER, image)
    rows = [m for m in _access.visible_member_rows(session, ctx, image) if m.member == member_id]
    if not rows:
        raise NotFound(f"{member_id} not found in the member list of the image {image.id}.")
    return rows[0]


def create(deps: Deps, ctx: RequestContext, image_id: str, member_id: str) -> MemberRecord:
    def txn(session: Session) -> MemberRecord:
        image = _access.load(session, ctx, image_id)
        _shared_only(image)
        _access.authorize(ctx, member_rules.ADD_MEMBER, image)
        if session.get(models.ImageMember, (image_id, member_id)) is not None:
            raise Conflict(f"Member {member_id} is duplicated for image {image_id}")
        count = session.execute(
            select(func.count()).where(models.ImageMember.image_id == image_id)
        ).scalar_one()
        quotas.enforce_count(deps.opts.image_member_quota, int(count) + 1, "image members")
        now = timeutils.utcnow()
        member = models.ImageMember(
            image_id=image_id,
            member=member_id,
            status="pending",
            created_at=now,
            updated_at=now,
        )
        session.add(member)
        session.flush()
        return MemberRecord.from_model(member)

    return deps.db.write(txn)


def list_members(deps: Deps, ctx: RequestContext, image_id: str) -> list[MemberRecord]:
    with deps.db.reader() as session:
        image = _access.load(session, ctx, image_id)
        _shared_only(image)
        _access.authorize(ctx, member_rules.GET_MEMBERS, image)
        rows = _access.visible_member_rows(session, ctx, image)
        return [MemberRecord.from_model(m) for m in rows]


def show(deps: Deps, ctx: RequestContext, image_id: str, member_id: str) -> MemberRecord:
    with deps.db.reader() as session:
        image = _access.load(session, ctx, image_id)
        try:
            _shared_only(image)
            return MemberRecord.from_model(_member(session, ctx, image, member_id))
        except Forbidden as exc:  # do not reveal what one may not see
            raise NotFound(exc.message) from None


def update(
    deps: Deps, ctx: RequestContext, image_id: str, member_id: str, status: str
) -> MemberRecord:
    def txn(session: Session) -> MemberRecord:
        image = _access.load(session, ctx, image_id)
        _shared_only(image)
        member = _member(session, ctx, image, member_id)
        _access.authorize(ctx, member_rules.MODIFY_MEMBER, image)
        member.status = status
        member.updated_at = timeutils.utcnow()
        session.flush()
        return MemberRecord.from_model(member)

    return deps.db.write(txn)


def delete(deps: Deps, ctx: RequestContext, image_id: str, member_id: str) -> None:
    def txn(session: Session) -> None:
        image = _access.load(session, ctx, image_id)
        _shared_only(image)
        member = _member(session, ctx, image, member_id)
        _access.authorize(ctx, member_rules.DELETE_MEMBER, image)
        session.delete(member)

    deps.db.write(txn)
