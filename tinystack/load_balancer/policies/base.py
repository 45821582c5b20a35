"""Base rules of the load balancer policy (Octavia's names, simplified new defaults).

Octavia reads with ``load-balancer:read`` (a reader of the object's project or an
admin) and writes with ``load-balancer:write`` (a member of it or an admin); quotas
are written by admins; ``*:get_all-global`` lists every project's objects.
"""

from __future__ import annotations

from oslo_policy import policy

READ = "rule:load-balancer:read"
WRITE = "rule:load-balancer:write"
ADMIN = "rule:load-balancer:admin"
READ_QUOTA = "rule:load-balancer:read-quota"
PREFIX = "os_load-balancer_api"

rules = [
    policy.RuleDefault("load-balancer:admin", "role:admin", description="Administrators."),
    policy.RuleDefault(
        "load-balancer:read",
        "role:admin or (role:reader and project_id:%(project_id)s)",
        description="Readers of the object's project.",
    ),
    policy.RuleDefault(
        "load-balancer:write",
        "role:admin or (role:member and project_id:%(project_id)s)",
        description="Members of the object's project.",
    ),
    policy.RuleDefault(
        "load-balancer:read-quota",
        "role:admin or (role:reader and project_id:%(project_id)s)",
        description="Readers of the quota's project.",
    ),
]


def name(resource: str, action: str) -> str:
    return f"{PREFIX}:{resource}:{action}"


def documented(
    resource: str, action: str, check: str, path: str, method: str
) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=name(resource, action),
        check_str=check,
        description=f"{action} {resource}",
        operations=[{"path": path, "method": method}],
    )


def crud(resource: str, collection: str) -> list[policy.DocumentedRuleDefault]:
    """get_all, get_all-global, post, get_one, put, delete of one resource."""
    one = collection + "/{id}"
    return [
        documented(resource, "get_all", READ, collection, "GET"),
        documented(resource, "get_all-global", ADMIN, collection, "GET"),
        documented(resource, "post", WRITE, collection, "POST"),
        documented(resource, "get_one", READ, one, "GET"),
        documented(resource, "put", WRITE, one, "PUT"),
        documented(resource, "delete", WRITE, one, "DELETE"),
    ]
