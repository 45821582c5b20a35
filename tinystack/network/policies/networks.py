"""Network rules: ``create_network``, ``get_network:provider:*`` and the other attributes."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies.base import (
    ADMIN,
    ADMIN_OR_PROJECT_MEMBER,
    ADMIN_OR_PROJECT_READER,
    SERVICE,
    any_of,
    rule,
)

_PROVIDER = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")
_ADMIN_ATTRS = ("segments", *_PROVIDER)
_VISIBLE = any_of(ADMIN_OR_PROJECT_READER, SERVICE, "rule:shared", "rule:external")

RULES = [
    policy.RuleDefault(
        "external", "field:networks:router:external=True", description="External network."
    ),
    rule("create_network", ADMIN_OR_PROJECT_MEMBER, "Create a network."),
    rule("create_network:shared", ADMIN),
    rule("create_network:router:external", ADMIN),
    rule("create_network:is_default", ADMIN),
    rule("create_network:port_security_enabled", ADMIN_OR_PROJECT_MEMBER),
    rule("create_network:tags", ADMIN_OR_PROJECT_MEMBER),
    *[rule(f"create_network:{attr}", ADMIN) for attr in _ADMIN_ATTRS],
    rule("get_network", _VISIBLE, "Show a network."),
    *[rule(f"get_network:{attr}", ADMIN) for attr in _ADMIN_ATTRS],
    rule("get_network:tags", any_of(ADMIN_OR_PROJECT_READER, "rule:shared", "rule:external")),
    rule("update_network", ADMIN_OR_PROJECT_MEMBER, "Update a network."),
    rule("update_network:shared", ADMIN),
    rule("update_network:router:external", ADMIN),
    rule("update_network:is_default", ADMIN),
    rule("update_network:port_security_enabled", ADMIN_OR_PROJECT_MEMBER),
    rule("update_network:tags", ADMIN_OR_PROJECT_MEMBER),
    *[rule(f"update_network:{attr}", ADMIN) for attr in _ADMIN_ATTRS],
    rule("delete_network", ADMIN_OR_PROJECT_MEMBER, "Delete a network."),
    rule("delete_network:tags", ADMIN_OR_PROJECT_MEMBER),
]
