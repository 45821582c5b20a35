"""Policy rules of /v2/lbaas/l7policies/{l7policy_id}/rules."""

from __future__ import annotations

from tinystack.load_balancer.policies.base import crud, name

GET_ALL = name("l7rule", "get_all")
GET_ALL_GLOBAL = name("l7rule", "get_all-global")
POST = name("l7rule", "post")
GET_ONE = name("l7rule", "get_one")
PUT = name("l7rule", "put")
DELETE = name("l7rule", "delete")

rules = crud("l7rule", "/v2/lbaas/l7policies/{l7policy_id}/rules")
