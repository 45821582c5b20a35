"""Policy rules of /v2/lbaas/providers, flavors and availability zones (listings)."""

from __future__ import annotations

from tinystack.load_balancer.policies.base import ADMIN, documented, name

_ANY = "role:reader or role:admin"
GET_ALL = name("provider", "get_all")
FLAVOR_CAPABILITIES = name("provider-flavor", "get_all")
AZ_CAPABILITIES = name("provider-availability-zone", "get_all")
FLAVOR_GET_ALL = name("flavor", "get_all")
FLAVOR_GET_ONE = name("flavor", "get_one")
FLAVOR_PROFILE_GET_ALL = name("flavor-profile", "get_all")
AZ_GET_ALL = name("availability-zone", "get_all")

_P = "/v2/lbaas/providers/{provider}"
rules = [
    documented("provider", "get_all", _ANY, "/v2/lbaas/providers", "GET"),
    documented("provider-flavor", "get_all", ADMIN, _P + "/flavor_capabilities", "GET"),
    documented(
        "provider-availability-zone",
        "get_all",
        ADMIN,
        _P + "/availability_zone_capabilities",
        "GET",
    ),
    documented("flavor", "get_all", _ANY, "/v2/lbaas/flavors", "GET"),
    documented("flavor", "get_one", _ANY, "/v2/lbaas/flavors/{flavor_id}", "GET"),
    documented("flavor-profile", "get_all", ADMIN, "/v2/lbaas/flavorprofiles", "GET"),
    documented("availability-zone", "get_all", _ANY, "/v2/lbaas/availabilityzones", "GET"),
]
