"""Rules of a metric's measures."""

from __future__ import annotations

from tinystack.metric.policies.base import ADMIN_OR_CREATOR, documented
from tinystack.metric.policies.metrics import OWNER

POST = "post measures"
GET = "get measures"
_PATH = "/v1/metric/{metric_id}/measures"

RULES = [
    documented(POST, ADMIN_OR_CREATOR, "Add measures to a metric", "POST", _PATH),
    documented(GET, OWNER, "Read the measures of a metric", "GET", _PATH),
]
