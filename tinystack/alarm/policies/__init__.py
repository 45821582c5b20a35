"""Alarm policy: Aodh's rule names (``telemetry:*``) and defaults.

:func:`list_rules` is the ``oslo.policy.policies`` entry point ``tinystack.alarm``.
"""

from __future__ import annotations

from oslo_policy import policy

from tinystack.alarm.policies import alarms, base, quotas


def list_rules() -> list[policy.RuleDefault]:
    return [*base.RULES, *alarms.RULES, *quotas.RULES]
