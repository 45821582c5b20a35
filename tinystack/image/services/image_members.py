"""Image sharing: the owner adds projects as members of a shared image; members accept it.

Only ``shared`` images have members (403 otherwise). The owner (or an admin)
adds and removes members; only the member itself (or an admin) changes its
status to ``accepted``, ``rejected`` or back to ``pending``. A member sees the
image whatever its status, but lists show it only once accepted (by default).
A member sees only its own membership; the owner sees them all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, Conflict, Forbidden, NotFound
from tinystack.image import models
from tinystack.image.policies import image_members as member_rules
from tinystack.image.services import access
from tinystack.image.services.common import Deps, MemberRecord, enforce_count, utcnow

MEMBER_STATUSES = ("pending", "accepted", "rejected")


def _shared_only(image: models.Image) -> None:
    if image.visibility != "shared":
        raise Forbidden("Only shared images have members.")


def parse_member_id(body: Any) -> str:
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


def parse_status(body: Any) -> str:
    if not isinstance(body, dict):
        raise BadRequest('Expected a status in the form: {"status": "status"}')
    if "status" not in body:
        raise BadRequest("Status not specified")
    status = body["status"]
    if status not in MEMBER_STATUSES:
        raise BadRequest('Incorrect request: Status must be "pending", "accepted" or "rejected".')
    return str(status)


class ImageMembers:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _member(
        self, session: Session, ctx: RequestContext, image: models.Image, member_id: str
    ) -> models.ImageMember:
        access.authorize(ctx, member_rules.GET_MEMBER, image)
        rows = [m for m in access.visible_member_rows(session, ctx, image) if m.member == member_id]
        if not rows:
            raise NotFound(f"{member_id} not found in the member list of the image {image.id}.")
        return rows[0]

    def create(self, ctx: RequestContext, image_id: str, body: Any) -> MemberRecord:
        member_id = parse_member_id(body)

        def txn(session: Session) -> MemberRecord:
            image = access.load(session, ctx, image_id)
            _shared_only(image)
            access.authorize(ctx, member_rules.ADD_MEMBER, image)
            if session.get(models.ImageMember, (image_id, member_id)) is not None:
                raise Conflict(f"Member {member_id} is duplicated for image {image_id}")
            count = session.execute(
                select(func.count()).where(models.ImageMember.image_id == image_id)
            ).scalar_one()
            enforce_count(self.deps.opts.image_member_quota, int(count) + 1, "image members")
            now = utcnow()
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

        return self.deps.db.write(txn)

    def list(self, ctx: RequestContext, image_id: str) -> list[MemberRecord]:
        with self.deps.db.reader() as session:
            image = access.load(session, ctx, image_id)
            _shared_only(image)
            access.authorize(ctx, member_rules.GET_MEMBERS, image)
            rows = access.visible_member_rows(session, ctx, image)
            return [MemberRecord.from_model(m) for m in rows]

    def show(self, ctx: RequestContext, image_id: str, member_id: str) -> MemberRecord:
        with self.deps.db.reader() as session:
            image = access.load(session, ctx, image_id)
            try:
                _shared_only(image)
                return MemberRecord.from_model(self._member(session, ctx, image, member_id))
            except Forbidden as exc:  # do not reveal what one may not see
                raise NotFound(exc.message) from None

    def update(self, ctx: RequestContext, image_id: str, member_id: str, body: Any) -> MemberRecord:
        status = parse_status(body)

        def txn(session: Session) -> MemberRecord:
            image = access.load(session, ctx, image_id)
            _shared_only(image)
            member = self._member(session, ctx, image, member_id)
            access.authorize(ctx, member_rules.MODIFY_MEMBER, image)
            member.status = status
            member.updated_at = utcnow()
            session.flush()
            return MemberRecord.from_model(member)

        return self.deps.db.write(txn)

    def delete(self, ctx: RequestContext, image_id: str, member_id: str) -> None:
        def txn(session: Session) -> None:
            image = access.load(session, ctx, image_id)
            _shared_only(image)
            member = self._member(session, ctx, image, member_id)
            access.authorize(ctx, member_rules.DELETE_MEMBER, image)
            session.delete(member)

        self.deps.db.write(txn)
