"""Policy rules of /v2/lbaas/pools."""

from __future__ import annotations

from tinystack.load_balancer.policies.base import crud, name

GET_ALL = name("pool", "get_all")
GET_ALL_GLOBAL = name("pool", "get_all-global")
POST = name("pool", "post")
GET_ONE = name("pool", "get_one")
PUT = name("pool", "put")
DELETE = name("pool", "delete")

rules = crud("pool", "/v2/lbaas/pools")
