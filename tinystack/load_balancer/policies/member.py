"""Policy rules of /v2/lbaas/pools/{pool_id}/members."""

from __future__ import annotations

from tinystack.load_balancer.policies.base import crud, name

GET_ALL = name("member", "get_all")
GET_ALL_GLOBAL = name("member", "get_all-global")
POST = name("member", "post")
GET_ONE = name("member", "get_one")
PUT = name("member", "put")
DELETE = name("member", "delete")

rules = crud("member", "/v2/lbaas/pools/{pool_id}/members")
