"""Subnet rules: the network's owner may manage subnets on it."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies.base import (
    ADMIN,
    ADMIN_OR_NET_OWNER_MEMBER,
    ADMIN_OR_NET_OWNER_READER,
    PROJECT_MEMBER,
    PROJECT_READER,
    SERVICE,
    any_of,
    rule,
)

_MEMBER = any_of(PROJECT_MEMBER, ADMIN_OR_NET_OWNER_MEMBER)
_READER = any_of(PROJECT_READER, "rule:shared", "rule:external_network", ADMIN_OR_NET_OWNER_READER)

RULES = [
    policy.RuleDefault(
        "external_network",
        "field:subnets:router:external=True",
        description="Subnet of an external network.",
    ),
    rule("create_subnet", ADMIN_OR_NET_OWNER_MEMBER, "Create a subnet."),
    rule("create_subnet:segment_id", ADMIN),
    rule("create_subnet:service_types", ADMIN),
    rule("create_subnet:tags", _MEMBER),
    rule("get_subnet", any_of(_READER, SERVICE), "Show a subnet."),
    rule("get_subnet:segment_id", ADMIN),
    rule("get_subnet:tags", _READER),
    rule("update_subnet", _MEMBER, "Update a subnet."),
    rule("update_subnet:segment_id", ADMIN),
    rule("update_subnet:service_types", ADMIN),
    rule("update_subnet:tags", _MEMBER),
    rule("delete_subnet", _MEMBER, "Delete a subnet."),
    rule("delete_subnet:tags", _MEMBER),
]
