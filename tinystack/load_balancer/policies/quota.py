"""Policy rules of /v2/lbaas/quotas."""

from __future__ import annotations

from tinystack.load_balancer.policies.base import ADMIN, READ_QUOTA, documented, name

GET_ALL = name("quota", "get_all")
GET_ALL_GLOBAL = name("quota", "get_all-global")
GET_ONE = name("quota", "get_one")
PUT = name("quota", "put")
DELETE = name("quota", "delete")
GET_DEFAULTS = name("quota", "get_defaults")
_ONE = "/v2/lbaas/quotas/{project_id}"

rules = [
    documented("quota", "get_all", READ_QUOTA, "/v2/lbaas/quotas", "GET"),
    documented("quota", "get_all-global", ADMIN, "/v2/lbaas/quotas", "GET"),
    documented("quota", "get_one", READ_QUOTA, _ONE, "GET"),
    documented("quota", "put", ADMIN, _ONE, "PUT"),
    documented("quota", "delete", ADMIN, _ONE, "DELETE"),
    documented("quota", "get_defaults", READ_QUOTA, "/v2/lbaas/quotas/defaults", "GET"),
]
