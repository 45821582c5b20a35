"""Compute policy rules: os-hosts (until 2.42; upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, rule

P = "os_compute_api:os-hosts:%s"
RULES = [
    rule(P % "list", ADMIN, "GET /os-hosts"),
    rule(P % "show", ADMIN, "GET /os-hosts/{host_name}"),
    rule(P % "update", ADMIN, "PUT /os-hosts/{host_name}"),
    rule(P % "reboot", ADMIN, "GET /os-hosts/{host_name}/reboot"),
    rule(P % "shutdown", ADMIN, "GET /os-hosts/{host_name}/shutdown"),
    rule(P % "start", ADMIN, "GET /os-hosts/{host_name}/startup"),
]
