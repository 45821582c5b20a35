"""Compute policy rules: hypervisors (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, rule

RULES = [
    rule("os_compute_api:os-hypervisors:list", ADMIN, "GET /os-hypervisors"),
    rule("os_compute_api:os-hypervisors:list-detail", ADMIN, "GET /os-hypervisors/details"),
    rule("os_compute_api:os-hypervisors:statistics", ADMIN, "GET /os-hypervisors/statistics"),
    rule("os_compute_api:os-hypervisors:show", ADMIN, "GET /os-hypervisors/{hypervisor_id}"),
    rule(
        "os_compute_api:os-hypervisors:uptime", ADMIN, "GET /os-hypervisors/{hypervisor_id}/uptime"
    ),
    rule(
        "os_compute_api:os-hypervisors:search",
        ADMIN,
        "GET /os-hypervisors/{hypervisor_hostname_pattern}/search",
    ),
    rule(
        "os_compute_api:os-hypervisors:servers",
        ADMIN,
        "GET /os-hypervisors/{hypervisor_hostname_pattern}/servers",
    ),
]
