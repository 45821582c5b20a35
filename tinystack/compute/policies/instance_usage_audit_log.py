"""Compute policy rules: instance usage audit log (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import ADMIN, rule

P = "os_compute_api:os-instance-usage-audit-log:%s"
RULES = [
    rule(P % "list", ADMIN, "GET /os-instance_usage_audit_log"),
    rule(P % "show", ADMIN, "GET /os-instance_usage_audit_log/{before_timestamp}"),
]
