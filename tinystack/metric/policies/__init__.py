"""Metric policy: Gnocchi's rule names and defaults.

One module per resource. Targets: a resource's ``project_id``, ``user_id`` and its
creator (``created_by_project_id``/``created_by_user_id``); a metric's creator and,
for a metric of a resource, ``resource.project_id``/``resource.user_id``.

:func:`list_rules` is the ``oslo.policy.policies`` entry point ``tinystack.metric``.
"""

from __future__ import annotations

from oslo_policy import policy

from tinystack.metric.policies import (
    aggregates,
    archive_policies,
    archive_policy_rules,
    base,
    exposition,
    measures,
    metrics,
    prometheus,
    resource_types,
    resources,
    status,
)


def list_rules() -> list[policy.RuleDefault]:
    return [
        *base.RULES,
        *archive_policies.RULES,
        *archive_policy_rules.RULES,
        *resource_types.RULES,
        *resources.RULES,
        *metrics.RULES,
        *measures.RULES,
        *aggregates.RULES,
        *status.RULES,
        *exposition.RULES,
        *prometheus.RULES,
    ]
