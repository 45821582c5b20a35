"""Rules of Prometheus' HTTP API (``/api/v1/...``: queries, series, labels, metadata,
rules and build information; each series is further limited to the metrics the caller
may read with ``get measures``)."""

from __future__ import annotations

from tinystack.metric.policies.base import ANYONE, documented

QUERY = "prometheus query"

RULES = [
    documented(QUERY, ANYONE, "Prometheus' HTTP API: PromQL queries, series, labels and "
               "metadata of the metrics the caller may read", "GET", "/api/v1/query"),
]  # fmt: skip
