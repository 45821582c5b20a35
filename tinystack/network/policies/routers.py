"""Router rules: SNAT and fixed gateway addresses are for admins."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies.base import (
    ADMIN,
    ADMIN_OR_PROJECT_MEMBER,
    ADMIN_OR_PROJECT_READER,
    rule,
)

_GW = "external_gateway_info"


def _action(action: str) -> list[policy.RuleDefault]:
    return [
        rule(f"{action}_router:distributed", ADMIN),
        rule(f"{action}_router:ha", ADMIN),
        rule(f"{action}_router:{_GW}", ADMIN_OR_PROJECT_MEMBER),
        rule(f"{action}_router:{_GW}:network_id", ADMIN_OR_PROJECT_MEMBER),
        rule(f"{action}_router:{_GW}:enable_snat", ADMIN),
        rule(f"{action}_router:{_GW}:external_fixed_ips", ADMIN),
        rule(f"{action}_router:tags", ADMIN_OR_PROJECT_MEMBER),
    ]


RULES = [
    rule("create_router", ADMIN_OR_PROJECT_MEMBER, "Create a router."),
    *_action("create"),
    rule("get_router", ADMIN_OR_PROJECT_READER, "Show a router."),
    rule("get_router:distributed", ADMIN),
    rule("get_router:ha", ADMIN),
    rule("get_router:tags", ADMIN_OR_PROJECT_READER),
    rule("update_router", ADMIN_OR_PROJECT_MEMBER, "Update a router."),
    *_action("update"),
    rule("delete_router", ADMIN_OR_PROJECT_MEMBER, "Delete a router."),
    rule("delete_router:tags", ADMIN_OR_PROJECT_MEMBER),
    rule("add_router_interface", ADMIN_OR_PROJECT_MEMBER, "Attach a subnet or port."),
    rule("remove_router_interface", ADMIN_OR_PROJECT_MEMBER, "Detach a subnet or port."),
    rule("add_extraroutes", ADMIN_OR_PROJECT_MEMBER, "Add static routes."),
    rule("remove_extraroutes", ADMIN_OR_PROJECT_MEMBER, "Remove static routes."),
]
