"""Policy rules of /v2/lbaas/listeners."""

from __future__ import annotations

from tinystack.load_balancer.policies.base import READ, crud, documented, name

GET_ALL = name("listener", "get_all")
GET_ALL_GLOBAL = name("listener", "get_all-global")
POST = name("listener", "post")
GET_ONE = name("listener", "get_one")
PUT = name("listener", "put")
DELETE = name("listener", "delete")
GET_STATS = name("listener", "get_stats")

rules = [
    *crud("listener", "/v2/lbaas/listeners"),
    documented("listener", "get_stats", READ, "/v2/lbaas/listeners/{listener_id}/stats", "GET"),
]
