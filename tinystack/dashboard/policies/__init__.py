"""The dashboard's own rules (Skyline checks these in code: system admin or reader)."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.dashboard.policies import extension


def list_rules() -> list[policy.RuleDefault]:
    return [*extension.list_rules()]
