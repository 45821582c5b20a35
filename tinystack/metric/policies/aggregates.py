"""Rules of ``/v1/aggregates`` (each metric read is also checked with ``get measures``)."""

from __future__ import annotations

from tinystack.metric.policies.base import ANYONE, documented

AGGREGATES = "get aggregates"

RULES = [
    documented(AGGREGATES, ANYONE, "Aggregate measures of metrics", "POST", "/v1/aggregates"),
]
