"""Compute policy rules: assisted volume snapshots (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import SERVICE_OR_ADMIN, rule

P = "os_compute_api:os-assisted-volume-snapshots:%s"
RULES = [
    rule(P % "create", SERVICE_OR_ADMIN, "POST /os-assisted-volume-snapshots"),
    rule(P % "delete", SERVICE_OR_ADMIN, "DELETE /os-assisted-volume-snapshots/{snapshot_id}"),
]
