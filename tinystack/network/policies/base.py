"""Shared rule names and check strings of the network policies (upstream's defaults).

Upstream's ``field:<collection>:<attribute>=<value>`` checks work here too
(:class:`FieldCheck`), so an operator's Neutron ``policy.yaml`` carries over.
Targets carry the resource's attributes plus, for subnets and ports,
``network:project_id``, ``shared`` and ``router:external`` of their network, and
for security group rules ``security_group:project_id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

from oslo_policy import policy

ADMIN = "rule:admin_only"
SERVICE = "rule:service_api"
PROJECT_MANAGER = "role:manager and project_id:%(project_id)s"
PROJECT_MEMBER = "role:member and project_id:%(project_id)s"
PROJECT_READER = "role:reader and project_id:%(project_id)s"
ADMIN_OR_SERVICE = f"({ADMIN}) or ({SERVICE})"
ADMIN_OR_PROJECT_MANAGER = f"({ADMIN}) or ({PROJECT_MANAGER})"
ADMIN_OR_PROJECT_MEMBER = f"({ADMIN}) or ({PROJECT_MEMBER})"
ADMIN_OR_PROJECT_READER = f"({ADMIN}) or ({PROJECT_READER})"

NET_OWNER_MANAGER = "role:manager and rule:network_owner"
NET_OWNER_MEMBER = "role:member and rule:network_owner"
NET_OWNER_READER = "role:reader and rule:network_owner"
ADMIN_OR_NET_OWNER_MEMBER = f"({ADMIN}) or ({NET_OWNER_MEMBER})"
ADMIN_OR_NET_OWNER_READER = f"({ADMIN}) or ({NET_OWNER_READER})"
SG_OWNER_MEMBER = "role:member and rule:sg_owner"
SG_OWNER_READER = "role:reader and rule:sg_owner"
ADMIN_OR_SG_OWNER_MEMBER = f"({ADMIN}) or ({SG_OWNER_MEMBER})"
ADMIN_OR_SG_OWNER_READER = f"({ADMIN}) or ({SG_OWNER_READER})"


@policy.register("field")
class FieldCheck(policy.Check):
    """``field:<collection>:<attribute>=<value>``; a value starting with ``~`` is a regex."""

    def __init__(self, kind: str, match: str) -> None:
        super().__init__(kind, match)
        _collection, _, rest = match.partition(":")
        self.field, _, value = rest.partition("=")
        self.regex = re.compile(value[1:]) if value.startswith("~") else None
        self.value = value

    def __call__(
        self,
        target: Mapping[str, Any],
        creds: MutableMapping[str, Any],
        enforcer: Any,
        current_rule: str | None = None,
    ) -> bool:
        if self.field not in target:
            return False
        actual = target[self.field]
        if self.regex is not None:
            return bool(self.regex.search(str(actual)))
        if isinstance(actual, bool):
            return str(actual).lower() == self.value.lower()
        return str(actual) == self.value


def any_of(*checks: str) -> str:
    return " or ".join(f"({c})" for c in checks)


def rule(name: str, check: str, description: str = "") -> policy.RuleDefault:
    return policy.RuleDefault(name, check, description=description or name, scope_types=["project"])


def shareable(singular: str, plural: str, noun: str) -> list[policy.RuleDefault]:
    """The rules of a resource project members manage and only admins share, visible to
    its project or when shared (neutron-fwaas's firewall groups, policies and rules):
    ``shared_<plural>``, ``create/update/delete_<singular>[:shared]``, ``get_<singular>``."""
    return [
        policy.RuleDefault(
            f"shared_{plural}", f"field:{plural}:shared=True", description=f"Shared {noun}."
        ),
        rule(f"create_{singular}", ADMIN_OR_PROJECT_MEMBER, f"Create a {noun}."),
        rule(f"create_{singular}:shared", ADMIN, f"Create a shared {noun}."),
        rule(f"update_{singular}", ADMIN_OR_PROJECT_MEMBER, f"Update a {noun}."),
        rule(f"update_{singular}:shared", ADMIN, f"Share or unshare a {noun}."),
        rule(f"delete_{singular}", ADMIN_OR_PROJECT_MEMBER, f"Delete a {noun}."),
        rule(f"delete_{singular}:shared", ADMIN, f"Delete a shared {noun}."),
        rule(
            f"get_{singular}",
            any_of(ADMIN_OR_PROJECT_READER, f"rule:shared_{plural}"),
            f"Show a {noun}.",
        ),
    ]


RULES = [
    policy.RuleDefault("context_is_admin", "role:admin", description="Cloud admin."),
    policy.RuleDefault("service_api", "role:service", description="Service-to-service APIs."),
    policy.RuleDefault("owner", "project_id:%(project_id)s", description="Resource owner."),
    policy.RuleDefault(
        "admin_or_owner", "rule:context_is_admin or rule:owner", description="Admin or owner."
    ),
    policy.RuleDefault(
        "admin_or_network_owner",
        "rule:context_is_admin or project_id:%(network:project_id)s",
        description="Admin or owner of the network.",
    ),
    policy.RuleDefault(
        "admin_owner_or_network_owner",
        "rule:owner or rule:admin_or_network_owner",
        description="Owner, admin or owner of the network.",
    ),
    policy.RuleDefault(
        "network_owner", "project_id:%(network:project_id)s", description="Network owner."
    ),
    policy.RuleDefault("admin_only", "rule:context_is_admin", description="Admin only."),
    policy.RuleDefault("regular_user", "", description="Any authenticated user."),
    policy.RuleDefault("shared", "field:networks:shared=True", description="Shared network."),
    policy.RuleDefault("default", "rule:admin_or_owner", description="Default rule."),
    policy.RuleDefault(
        "sg_owner",
        "project_id:%(security_group:project_id)s",
        description="Owner of the security group.",
    ),
]
