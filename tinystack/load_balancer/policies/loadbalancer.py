"""Policy rules of /v2/lbaas/loadbalancers."""

from __future__ import annotations

from tinystack.load_balancer.policies.base import ADMIN, READ, crud, documented, name

_ONE = "/v2/lbaas/loadbalancers/{loadbalancer_id}"
GET_ALL = name("loadbalancer", "get_all")
GET_ALL_GLOBAL = name("loadbalancer", "get_all-global")
POST = name("loadbalancer", "post")
GET_ONE = name("loadbalancer", "get_one")
PUT = name("loadbalancer", "put")
DELETE = name("loadbalancer", "delete")
GET_STATS = name("loadbalancer", "get_stats")
GET_STATUS = name("loadbalancer", "get_status")
PUT_FAILOVER = name("loadbalancer", "put_failover")

rules = [
    *crud("loadbalancer", "/v2/lbaas/loadbalancers"),
    documented("loadbalancer", "get_stats", READ, _ONE + "/stats", "GET"),
    documented("loadbalancer", "get_status", READ, _ONE + "/status", "GET"),
    documented("loadbalancer", "put_failover", ADMIN, _ONE + "/failover", "PUT"),
]
