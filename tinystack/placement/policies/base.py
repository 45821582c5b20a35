"""Base rules of the Placement policy: admin or the service role, as upstream's defaults."""

from __future__ import annotations

from oslo_policy import policy

ADMIN_OR_SERVICE = "rule:admin_or_service_api"
SERVICE = "rule:service_api"
ADMIN_OR_PROJECT_READER_OR_SERVICE = "rule:admin_or_project_reader_or_service_api"
SCOPES = ["project"]

rules = [
    policy.RuleDefault(
        "admin_api",
        "role:admin",
        description="Default rule for most placement APIs.",
        scope_types=SCOPES,
    ),
    policy.RuleDefault(
        "service_api",
        "role:service",
        description="Default rule for service-to-service placement APIs.",
        scope_types=SCOPES,
    ),
    policy.RuleDefault(
        "admin_or_service_api",
        "role:admin or role:service",
        description="Default rule for most placement APIs.",
        scope_types=SCOPES,
    ),
    policy.RuleDefault(
        "project_reader_api",
        "role:reader and project_id:%(project_id)s",
        description="Default rule for project level reader APIs.",
    ),
    policy.RuleDefault(
        "admin_or_project_reader_or_service_api",
        "role:admin or rule:project_reader_api or role:service",
        description="Default rule for project level reader APIs.",
        scope_types=SCOPES,
    ),
]


def documented(
    name: str, check: str, description: str, operations: list[tuple[str, str]]
) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check,
        description=description,
        operations=[{"method": m, "path": p} for m, p in operations],
        scope_types=SCOPES,
    )
