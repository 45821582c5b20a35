"""Image policy rules: upstream Glance's names and current (secure RBAC) defaults.

The target of an image rule is the image: ``project_id`` and ``owner`` are its
owner, ``visibility`` its visibility and ``member_id`` the caller's project when
the caller sees a shared image as a member. Whether an image is visible at all
is decided before policy (see ``services/access.py``), as upstream does in its
database layer.
"""

from __future__ import annotations

from oslo_policy import policy

PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
IMAGE_MEMBER = "project_id:%(member_id)s"
COMMUNITY = "'community':%(visibility)s"
PUBLIC = "'public':%(visibility)s"
SHARED = "'shared':%(visibility)s"
_ANY_VISIBLE = f"project_id:%(project_id)s or {IMAGE_MEMBER} or {COMMUNITY} or {PUBLIC} or {SHARED}"

ADMIN = "rule:context_is_admin"
ADMIN_OR_PROJECT_MEMBER = f"{ADMIN} or ({PROJECT_MEMBER})"
ADMIN_OR_PROJECT_READER = f"{ADMIN} or ({PROJECT_READER})"
ADMIN_OR_READER_GET_IMAGE = f"{ADMIN} or (role:reader and ({_ANY_VISIBLE}))"
ADMIN_OR_MEMBER_DOWNLOAD_IMAGE = f"{ADMIN} or (role:member and ({_ANY_VISIBLE}))"
ADMIN_OR_MEMBER_CREATE_IMAGE = f"{ADMIN} or ({PROJECT_MEMBER} and project_id:%(owner)s)"
ADMIN_OR_SHARED_MEMBER = f"{ADMIN} or (role:member and {IMAGE_MEMBER})"
ADMIN_OR_READER_OR_SHARED_MEMBER = (
    f"{ADMIN} or role:reader and (project_id:%(project_id)s or {IMAGE_MEMBER})"
)

GET_IMAGE = "get_image"
GET_IMAGES = "get_images"
ADD_IMAGE = "add_image"
MODIFY_IMAGE = "modify_image"
DELETE_IMAGE = "delete_image"
PUBLICIZE_IMAGE = "publicize_image"
COMMUNITIZE_IMAGE = "communitize_image"
UPLOAD_IMAGE = "upload_image"
DOWNLOAD_IMAGE = "download_image"
DEACTIVATE = "deactivate"
REACTIVATE = "reactivate"
COPY_IMAGE = "copy_image"
ADD_MEMBER = "add_member"
GET_MEMBER = "get_member"
GET_MEMBERS = "get_members"
MODIFY_MEMBER = "modify_member"
DELETE_MEMBER = "delete_member"
STORES_INFO_DETAIL = "stores_info_detail"

_IMAGE = "/v2/images/{image_id}"
_MEMBERS = "/v2/images/{image_id}/members"


def _rule(
    name: str, check: str, description: str, method: str, path: str
) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check,
        description=description,
        operations=[{"method": method, "path": path}],
        scope_types=["project"],
    )


BASE_RULES = [
    policy.RuleDefault("default", "", description="Rule for policies not listed here."),
    policy.RuleDefault("context_is_admin", "role:admin", description="Who is an admin."),
    policy.RuleDefault(
        "service_api", "role:service or role:admin", description="Service-to-service calls."
    ),
]

IMAGE_RULES = [
    _rule(ADD_IMAGE, ADMIN_OR_MEMBER_CREATE_IMAGE, "Create an image.", "POST", "/v2/images"),
    _rule(GET_IMAGE, ADMIN_OR_READER_GET_IMAGE, "Show an image.", "GET", _IMAGE),
    _rule(GET_IMAGES, ADMIN_OR_PROJECT_READER, "List images.", "GET", "/v2/images"),
    _rule(MODIFY_IMAGE, ADMIN_OR_PROJECT_MEMBER, "Update an image.", "PATCH", _IMAGE),
    _rule(PUBLICIZE_IMAGE, ADMIN, "Make an image public.", "PATCH", _IMAGE),
    _rule(COMMUNITIZE_IMAGE, ADMIN_OR_PROJECT_MEMBER, "Share with everyone.", "PATCH", _IMAGE),
    _rule(DELETE_IMAGE, ADMIN_OR_PROJECT_MEMBER, "Delete an image.", "DELETE", _IMAGE),
    _rule(UPLOAD_IMAGE, ADMIN_OR_PROJECT_MEMBER, "Upload data.", "PUT", _IMAGE + "/file"),
    _rule(
        DOWNLOAD_IMAGE, ADMIN_OR_MEMBER_DOWNLOAD_IMAGE, "Download data.", "GET", _IMAGE + "/file"
    ),
    _rule(
        DEACTIVATE,
        ADMIN_OR_PROJECT_MEMBER,
        "Deactivate an image.",
        "POST",
        _IMAGE + "/actions/deactivate",
    ),
    _rule(
        REACTIVATE,
        ADMIN_OR_PROJECT_MEMBER,
        "Reactivate an image.",
        "POST",
        _IMAGE + "/actions/reactivate",
    ),
    _rule(COPY_IMAGE, ADMIN, "Copy image data to other stores.", "POST", _IMAGE + "/import"),
    _rule(ADD_MEMBER, ADMIN_OR_PROJECT_MEMBER, "Share an image.", "POST", _MEMBERS),
    _rule(
        GET_MEMBER,
        ADMIN_OR_READER_OR_SHARED_MEMBER,
        "Show a membership.",
        "GET",
        _MEMBERS + "/{member_id}",
    ),
    _rule(GET_MEMBERS, ADMIN_OR_READER_OR_SHARED_MEMBER, "List members.", "GET", _MEMBERS),
    _rule(
        MODIFY_MEMBER,
        ADMIN_OR_SHARED_MEMBER,
        "Accept or reject a membership.",
        "PUT",
        _MEMBERS + "/{member_id}",
    ),
    _rule(
        DELETE_MEMBER,
        ADMIN_OR_PROJECT_MEMBER,
        "Stop sharing with a project.",
        "DELETE",
        _MEMBERS + "/{member_id}",
    ),
    _rule(STORES_INFO_DETAIL, ADMIN, "Show store details.", "GET", "/v2/info/stores/detail"),
]


def list_rules() -> list[policy.RuleDefault]:
    return [*BASE_RULES, *IMAGE_RULES]
