"""Image member rules: ``/v2/images/{image_id}/members``."""

from __future__ import annotations

from tinystack.image.policies.base import (
    ADMIN_OR_PROJECT_MEMBER,
    ADMIN_OR_READER_OR_SHARED_MEMBER,
    ADMIN_OR_SHARED_MEMBER,
    IMAGE,
    rule,
)

ADD_MEMBER = "add_member"
GET_MEMBER = "get_member"
GET_MEMBERS = "get_members"
MODIFY_MEMBER = "modify_member"
DELETE_MEMBER = "delete_member"

_MEMBERS = IMAGE + "/members"

RULES = [
    rule(ADD_MEMBER, ADMIN_OR_PROJECT_MEMBER, "Share an image.", "POST", _MEMBERS),
    rule(
        GET_MEMBER,
        ADMIN_OR_READER_OR_SHARED_MEMBER,
        "Show a membership.",
        "GET",
        _MEMBERS + "/{member_id}",
    ),
    rule(GET_MEMBERS, ADMIN_OR_READER_OR_SHARED_MEMBER, "List members.", "GET", _MEMBERS),
    rule(
        MODIFY_MEMBER,
        ADMIN_OR_SHARED_MEMBER,
        "Accept or reject a membership.",
        "PUT",
        _MEMBERS + "/{member_id}",
    ),
    rule(
        DELETE_MEMBER,
        ADMIN_OR_PROJECT_MEMBER,
        "Stop sharing with a project.",
        "DELETE",
        _MEMBERS + "/{member_id}",
    ),
]
