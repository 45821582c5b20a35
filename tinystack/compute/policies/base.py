"""The base rules every compute rule builds on, with upstream's names and defaults."""

from __future__ import annotations

from typing import Any

from oslo_policy import policy

ADMIN = "rule:context_is_admin"
PROJECT_MANAGER_OR_ADMIN = "rule:project_manager_or_admin"
PROJECT_MEMBER_OR_ADMIN = "rule:project_member_or_admin"
PROJECT_READER_OR_ADMIN = "rule:project_reader_or_admin"
SERVICE_OR_ADMIN = "rule:service_or_admin"
ANY = "@"
NOBODY = "!"
SCOPES = ["project"]

RULES = [
    policy.RuleDefault("context_is_admin", "role:admin", "Who passes is_admin checks."),
    policy.RuleDefault(
        "admin_or_owner", "is_admin:True or project_id:%(project_id)s", "Deprecated."
    ),
    policy.RuleDefault("admin_api", "is_admin:True", "Deprecated."),
    policy.RuleDefault(
        "project_manager_api",
        "role:manager and project_id:%(project_id)s",
        "Project level management APIs.",
    ),
    policy.RuleDefault(
        "project_member_api",
        "role:member and project_id:%(project_id)s",
        "Project level non-admin APIs.",
    ),
    policy.RuleDefault(
        "project_reader_api",
        "role:reader and project_id:%(project_id)s",
        "Project level read-only APIs.",
    ),
    policy.RuleDefault("service_api", "role:service", "Service-to-service APIs."),
    policy.RuleDefault(
        "project_manager_or_admin",
        "rule:project_manager_api or rule:context_is_admin",
        "Project manager or admin APIs.",
    ),
    policy.RuleDefault(
        "project_member_or_admin",
        "rule:project_member_api or rule:context_is_admin",
        "Project member or admin APIs.",
    ),
    policy.RuleDefault(
        "project_reader_or_admin",
        "rule:project_reader_api or rule:context_is_admin",
        "Project reader or admin APIs.",
    ),
    policy.RuleDefault(
        "service_or_admin",
        "rule:service_api or rule:context_is_admin",
        "Service or admin APIs.",
    ),
]


def rule(name: str, check: str, *operations: str, doc: str = "") -> policy.DocumentedRuleDefault:
    """A documented rule; each operation is ``"METHOD /path"``."""
    ops: list[Any] = []
    for op in operations:
        method, _, path = op.partition(" ")
        ops.append({"method": method, "path": path})
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check,
        description=doc or name.rsplit(":", 1)[-1].replace("_", " ").replace("-", " ") + ".",
        operations=ops,
        scope_types=SCOPES,
    )
