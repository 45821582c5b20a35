"""Policy rules of /v2/lbaas/healthmonitors."""

from __future__ import annotations

from tinystack.load_balancer.policies.base import crud, name

GET_ALL = name("healthmonitor", "get_all")
GET_ALL_GLOBAL = name("healthmonitor", "get_all-global")
POST = name("healthmonitor", "post")
GET_ONE = name("healthmonitor", "get_one")
PUT = name("healthmonitor", "put")
DELETE = name("healthmonitor", "delete")

rules = crud("healthmonitor", "/v2/lbaas/healthmonitors")
