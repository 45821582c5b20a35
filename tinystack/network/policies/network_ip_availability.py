"""Network IP availability rules."""

from __future__ import annotations

from tinystack.network.policies.base import ADMIN_OR_SERVICE, rule

RULES = [
    rule("get_network_ip_availability", ADMIN_OR_SERVICE, "Show IP usage of networks."),
]
