"""Policy rules of /v2/lbaas/l7policies."""

from __future__ import annotations

from tinystack.load_balancer.policies.base import crud, name

GET_ALL = name("l7policy", "get_all")
GET_ALL_GLOBAL = name("l7policy", "get_all-global")
POST = name("l7policy", "post")
GET_ONE = name("l7policy", "get_one")
PUT = name("l7policy", "put")
DELETE = name("l7policy", "delete")

rules = crud("l7policy", "/v2/lbaas/l7policies")
