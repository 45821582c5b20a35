"""Discovery rules: ``/v2/info/*``."""

from __future__ import annotations

from tinystack.image.policies.base import ADMIN_OR_SERVICE, rule

STORES_INFO_DETAIL = "stores_info_detail"

RULES = [
    rule(
        STORES_INFO_DETAIL, ADMIN_OR_SERVICE, "Show store details.", "GET", "/v2/info/stores/detail"
    ),
]
