"""Rules of the Prometheus query API (each series is further limited to the metrics the
caller may read with ``get measures``)."""

from __future__ import annotations

from tinystack.metric.policies.base import ANYONE, documented

QUERY = "prometheus query"

RULES = [
    documented(QUERY, ANYONE, "PromQL instant and range queries", "GET", "/api/v1/query"),
]
