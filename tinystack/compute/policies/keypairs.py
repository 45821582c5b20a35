"""Compute policy rules: keypairs (upstream names and defaults)."""

from __future__ import annotations

from tinystack.compute.policies.base import rule

RULES = [
    rule(
        "os_compute_api:os-keypairs:index",
        "(rule:context_is_admin) or user_id:%(user_id)s",
        "GET /os-keypairs",
    ),
    rule(
        "os_compute_api:os-keypairs:create",
        "(rule:context_is_admin) or user_id:%(user_id)s",
        "POST /os-keypairs",
    ),
    rule(
        "os_compute_api:os-keypairs:delete",
        "(rule:context_is_admin) or user_id:%(user_id)s",
        "DELETE /os-keypairs/{keypair_name}",
    ),
    rule(
        "os_compute_api:os-keypairs:show",
        "(rule:context_is_admin) or user_id:%(user_id)s",
        "GET /os-keypairs/{keypair_name}",
    ),
]
