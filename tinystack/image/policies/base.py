"""Check strings shared by the image rules, the base rules, and the rule constructor."""

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

SERVICE = "rule:service_api"
SERVICE_OR_PROJECT_MEMBER = f"{SERVICE} or ({PROJECT_MEMBER} and project_id:%(owner)s)"
ADMIN_OR_SERVICE = f"{ADMIN} or {SERVICE}"
PROJECT_READER_OR_PUBLIC_NAMESPACE = f"role:reader and (project_id:%(project_id)s or {PUBLIC})"
ADMIN_OR_PROJECT_READER_GET_NAMESPACE = f"{ADMIN} or ({PROJECT_READER_OR_PUBLIC_NAMESPACE})"
DEFAULT = "rule:default"

IMAGE = "/v2/images/{image_id}"


def rule(name: str, check: str, description: str, method: str, path: str) -> policy.RuleDefault:
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check,
        description=description,
        operations=[{"method": method, "path": path}],
        scope_types=["project"],
    )


RULES = [
    policy.RuleDefault("default", "", description="Rule for policies not listed here."),
    policy.RuleDefault("context_is_admin", "role:admin", description="Who is an admin."),
    policy.RuleDefault(
        "service_api", "role:service or role:admin", description="Service-to-service calls."
    ),
]
