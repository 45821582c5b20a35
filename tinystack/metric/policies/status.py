"""Rules of ``/v1/status``."""

from __future__ import annotations

from tinystack.metric.policies.base import ADMIN, documented

GET = "get status"

RULES = [documented(GET, ADMIN, "Get the status of the storage", "GET", "/v1/status")]
