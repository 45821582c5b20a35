"""Floating IP rules: choosing the address is for admins and project managers."""

from __future__ import annotations

from tinystack.network.policies.base import (
    ADMIN_OR_PROJECT_MANAGER,
    ADMIN_OR_PROJECT_MEMBER,
    ADMIN_OR_PROJECT_READER,
    rule,
)

RULES = [
    rule("create_floatingip", ADMIN_OR_PROJECT_MEMBER, "Create a floating IP."),
    rule("create_floatingip:floating_ip_address", ADMIN_OR_PROJECT_MANAGER),
    rule("create_floatingip:tags", ADMIN_OR_PROJECT_MEMBER),
    rule("get_floatingip", ADMIN_OR_PROJECT_READER, "Show a floating IP."),
    rule("get_floatingip:tags", ADMIN_OR_PROJECT_READER),
    rule("update_floatingip", ADMIN_OR_PROJECT_MEMBER, "Update a floating IP."),
    rule("update_floatingip:tags", ADMIN_OR_PROJECT_MEMBER),
    rule("delete_floatingip", ADMIN_OR_PROJECT_MEMBER, "Delete a floating IP."),
    rule("delete_floatingip:tags", ADMIN_OR_PROJECT_MEMBER),
]
