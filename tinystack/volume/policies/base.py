"""The base rules every volume rule builds on, with upstream Cinder's names and defaults.

Cinder's current defaults recognise project scope only: ``admin_api`` for the admin APIs,
``xena_system_admin_or_project_member`` / ``..._reader`` for the project's own resources.
"""

from __future__ import annotations

from typing import Any

from oslo_policy import policy

ADMIN_API = "rule:admin_api"
MEMBER = "rule:xena_system_admin_or_project_member"
READER = "rule:xena_system_admin_or_project_reader"

RULES = [
    policy.RuleDefault(
        "admin_or_owner",
        "is_admin:True or (role:admin and is_admin_project:True) or project_id:%(project_id)s",
        "Deprecated: the default rule of most non-admin APIs before the default roles.",
    ),
    policy.RuleDefault(
        "system_or_domain_or_project_admin",
        "(role:admin and system_scope:all) or (role:admin and domain_id:%(domain_id)s) or "
        "(role:admin and project_id:%(project_id)s)",
        "Deprecated: admins of the cloud, a domain or a project.",
    ),
    policy.RuleDefault("context_is_admin", "role:admin", "Who passes the 'is_admin:True' check."),
    policy.RuleDefault(
        "admin_api",
        "is_admin:True or (role:admin and is_admin_project:True)",
        "The default rule of most admin APIs.",
    ),
    policy.RuleDefault(
        "xena_system_admin_or_project_reader",
        "(role:admin) or (role:reader and project_id:%(project_id)s)",
        "An admin, or a reader of the resource's project (project scope only).",
    ),
    policy.RuleDefault(
        "xena_system_admin_or_project_member",
        "(role:admin) or (role:member and project_id:%(project_id)s)",
        "An admin, or a member of the resource's project (project scope only).",
    ),
]


def rule(name: str, check: str, *operations: str, doc: str = "") -> policy.RuleDefault:
    """A documented rule; each operation is ``"METHOD /path"`` (a rule without
    operations, as upstream's deprecated ones, is a plain default)."""
    description = doc or name.rsplit(":", 1)[-1].replace("_", " ") + "."
    if not operations:
        return policy.RuleDefault(name, check, description)
    ops: list[Any] = []
    for op in operations:
        method, _, path = op.partition(" ")
        ops.append({"method": method, "path": path})
    return policy.DocumentedRuleDefault(
        name=name, check_str=check, description=description, operations=ops
    )
