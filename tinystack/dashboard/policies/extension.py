"""Rules of the ``extension`` lists that reach beyond the caller's project."""

from __future__ import annotations

from oslo_policy import policy

ADMIN_OR_READER = "role:admin or (role:reader and system_scope:all)"
ALL_PROJECTS = "skyline:extension:all_projects"
COMPUTE_SERVICES = "skyline:extension:compute_services"

RULES = [
    policy.DocumentedRuleDefault(
        name=ALL_PROJECTS,
        check_str=ADMIN_OR_READER,
        description="List servers, volumes, snapshots or ports of every project.",
        operations=[
            {"method": "GET", "path": "/api/openstack/skyline/api/v1/extension/servers"},
            {"method": "GET", "path": "/api/openstack/skyline/api/v1/extension/recycle_servers"},
            {"method": "GET", "path": "/api/openstack/skyline/api/v1/extension/volumes"},
            {"method": "GET", "path": "/api/openstack/skyline/api/v1/extension/volume_snapshots"},
            {"method": "GET", "path": "/api/openstack/skyline/api/v1/extension/ports"},
        ],
    ),
    policy.DocumentedRuleDefault(
        name=COMPUTE_SERVICES,
        check_str=ADMIN_OR_READER,
        description="List the compute services.",
        operations=[
            {"method": "GET", "path": "/api/openstack/skyline/api/v1/extension/compute-services"}
        ],
    ),
]


def list_rules() -> list[policy.RuleDefault]:
    return list(RULES)
