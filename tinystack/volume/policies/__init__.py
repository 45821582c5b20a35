"""Volume policy: upstream Cinder's rule names and defaults, one module per resource
(upstream's module names)."""

from __future__ import annotations

import importlib

from oslo_policy import policy

MODULES = [
    "base", "attachments", "backup_actions", "backups", "capabilities", "clusters",
    "default_types", "group_actions", "group_snapshot_actions", "group_snapshots",
    "group_types", "groups", "hosts", "limits", "manageable_snapshots", "manageable_volumes",
    "messages", "qos_specs", "quota_class", "quotas", "scheduler_stats", "services",
    "snapshot_actions", "snapshot_metadata", "snapshots", "type_extra_specs", "volume_access",
    "volume_actions", "volume_metadata", "volume_transfer", "volume_type", "volumes",
    "workers",
]  # fmt: skip


def list_rules() -> list[policy.RuleDefault]:
    rules: list[policy.RuleDefault] = []
    for name in MODULES:
        rules.extend(importlib.import_module(f"{__name__}.{name}").RULES)
    return rules
