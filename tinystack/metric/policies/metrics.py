"""Rules of ``/v1/metric`` and the metrics of a resource."""

from __future__ import annotations

from tinystack.metric.policies.base import ADMIN, ADMIN_OR_CREATOR, ANYONE, documented

CREATE = "create metric"
GET = "get metric"
LIST = "list metric"
LIST_ALL = "list all metric"
DELETE = "delete metric"
OWNER = "rule:admin_or_creator or rule:metric_owner"
_PATH = "/v1/metric"

RULES = [
    documented(CREATE, ANYONE, "Create a new metric", "POST", _PATH),
    documented(GET, OWNER, "Get a metric", "GET", _PATH + "/{metric_id}"),
    documented(LIST, ANYONE, "List the caller's metrics", "GET", _PATH),
    documented(LIST_ALL, ADMIN, "List every metric", "GET", _PATH),
    documented(DELETE, ADMIN_OR_CREATOR, "Delete a metric", "DELETE", _PATH + "/{metric_id}"),
]
