"""Compute policy: upstream rule names and defaults, one module per resource."""

from __future__ import annotations

import importlib

from oslo_policy import policy

MODULES = [
    "base", "admin_actions", "admin_password", "aggregates", "assisted_volume_snapshots",
    "attach_interfaces",
    "availability_zone", "console_auth_tokens", "console_output", "create_backup",
    "deferred_delete", "evacuate", "extended_server_attributes", "extensions", "flavor_access",
    "flavor_extra_specs", "flavor_manage", "floating_ips", "hosts", "hypervisors",
    "instance_actions", "instance_usage_audit_log", "ips",
    "keypairs", "limits", "lock_server", "migrate_server", "migrations", "pause_server",
    "quota_class_sets", "quota_sets", "remote_consoles", "rescue", "security_groups",
    "server_diagnostics", "server_external_events", "server_groups", "server_metadata",
    "server_password", "server_tags", "server_topology", "servers", "servers_migrations",
    "services", "shelve", "simple_tenant_usage", "suspend_server", "volumes", "volumes_attachments",
]  # fmt: skip


def list_rules() -> list[policy.RuleDefault]:
    rules: list[policy.RuleDefault] = []
    for name in MODULES:
        rules.extend(importlib.import_module(f"{__name__}.{name}").RULES)
    return rules
