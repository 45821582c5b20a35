"""Port rules: owners of a port's network may manage its addresses; bindings are for services."""

from __future__ import annotations

from oslo_policy import policy

from tinystack.network.policies.base import (
    ADMIN,
    ADMIN_OR_NET_OWNER_MEMBER,
    ADMIN_OR_NET_OWNER_READER,
    ADMIN_OR_PROJECT_MEMBER,
    ADMIN_OR_SERVICE,
    NET_OWNER_MANAGER,
    NET_OWNER_MEMBER,
    NET_OWNER_READER,
    PROJECT_MEMBER,
    PROJECT_READER,
    SERVICE,
    any_of,
    rule,
)

_NET_ADMIN = any_of(ADMIN_OR_SERVICE, NET_OWNER_MEMBER)
_DEVICE_OWNER = any_of("not rule:network_device", ADMIN_OR_SERVICE, NET_OWNER_MEMBER)
_PAIRS = any_of(ADMIN_OR_NET_OWNER_MEMBER, SERVICE)
_MEMBER_OR_SERVICE = any_of(ADMIN_OR_PROJECT_MEMBER, SERVICE)
_BINDING_READ = ("binding:vif_type", "binding:vif_details", "binding:host_id", "binding:profile")


def _action(action: str) -> list[policy.RuleDefault]:
    """Rules shared by create_port and update_port."""
    return [
        rule(f"{action}_port:device_id", _MEMBER_OR_SERVICE),
        rule(f"{action}_port:device_owner", _DEVICE_OWNER),
        rule(f"{action}_port:fixed_ips:ip_address", _NET_ADMIN),
        rule(f"{action}_port:port_security_enabled", _NET_ADMIN),
        rule(f"{action}_port:binding:host_id", ADMIN_OR_SERVICE),
        rule(f"{action}_port:binding:profile", SERVICE),
        rule(f"{action}_port:allowed_address_pairs", _PAIRS),
        rule(f"{action}_port:allowed_address_pairs:mac_address", _PAIRS),
        rule(f"{action}_port:allowed_address_pairs:ip_address", _PAIRS),
        rule(f"{action}_port:tags", ADMIN_OR_PROJECT_MEMBER),
    ]


RULES = [
    policy.RuleDefault(
        "network_device", "field:port:device_owner=~^network:", description="Network device."
    ),
    policy.RuleDefault(
        "admin_or_data_plane_int",
        "rule:context_is_admin or role:data_plane_integrator",
        description="Admin or data plane integrator.",
    ),
    rule("create_port", any_of(ADMIN_OR_SERVICE, NET_OWNER_MEMBER, "rule:shared"), "Create."),
    *_action("create"),
    rule("create_port:mac_address", _NET_ADMIN),
    rule("create_port:fixed_ips", any_of(_NET_ADMIN, "rule:shared")),
    rule("create_port:fixed_ips:subnet_id", any_of(_NET_ADMIN, "rule:shared")),
    rule("create_port:binding:vnic_type", _MEMBER_OR_SERVICE),
    rule("get_port", any_of(ADMIN_OR_SERVICE, NET_OWNER_READER, PROJECT_READER), "Show a port."),
    *[rule(f"get_port:{attr}", ADMIN_OR_SERVICE) for attr in _BINDING_READ],
    rule("get_port:tags", any_of(ADMIN_OR_NET_OWNER_READER, PROJECT_READER)),
    rule("update_port", any_of(ADMIN_OR_SERVICE, PROJECT_MEMBER), "Update a port."),
    *_action("update"),
    rule("update_port:mac_address", any_of(ADMIN_OR_SERVICE, NET_OWNER_MANAGER)),
    rule("update_port:fixed_ips", _NET_ADMIN),
    rule("update_port:fixed_ips:subnet_id", any_of(_NET_ADMIN, "rule:shared")),
    rule("update_port:binding:vnic_type", any_of(ADMIN_OR_SERVICE, PROJECT_MEMBER)),
    rule("update_port:data_plane_status", any_of(ADMIN, "role:data_plane_integrator")),
    rule("delete_port", any_of(ADMIN_OR_SERVICE, NET_OWNER_MEMBER, PROJECT_MEMBER), "Delete."),
    rule("delete_port:tags", any_of(PROJECT_MEMBER, ADMIN_OR_NET_OWNER_MEMBER)),
]
