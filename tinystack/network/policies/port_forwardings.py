"""Floating IP port forwarding rules (upstream's ``*_floatingip_port_forwarding``): the
floating IP's project manages its forwardings."""

from __future__ import annotations

from tinystack.network.policies.base import ADMIN_OR_PROJECT_MEMBER, ADMIN_OR_PROJECT_READER, rule

RULES = [
    rule(
        "create_floatingip_port_forwarding",
        ADMIN_OR_PROJECT_MEMBER,
        "Create a floating IP port forwarding.",
    ),
    rule("get_floatingip_port_forwarding", ADMIN_OR_PROJECT_READER, "Show port forwardings."),
    rule(
        "update_floatingip_port_forwarding",
        ADMIN_OR_PROJECT_MEMBER,
        "Update a floating IP port forwarding.",
    ),
    rule(
        "delete_floatingip_port_forwarding",
        ADMIN_OR_PROJECT_MEMBER,
        "Delete a floating IP port forwarding.",
    ),
]
