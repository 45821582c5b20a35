"""Rule of ``/metrics`` (every project's latest samples: admin only)."""

from __future__ import annotations

from tinystack.metric.policies.base import ADMIN, documented

GET = "get metrics exposition"

RULES = [documented(GET, ADMIN, "Latest samples, Prometheus text format", "GET", "/metrics")]
