"""THE load balancer route table (Octavia v2): every route, its policy rules and status.

Handlers live in the resource modules; list routes check ``get_all`` (or, for a caller
who may, ``get_all-global``: every project's objects). Bodies are the pydantic models
the handlers declare (``api/schemas.py``), so FastAPI documents them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import APIRouter

from tinystack.common.api.openapi import PUBLIC, policies
from tinystack.load_balancer.api import healthmonitors as hm
from tinystack.load_balancer.api import l7policies as l7p
from tinystack.load_balancer.api import l7rules as l7r
from tinystack.load_balancer.api import listeners as li
from tinystack.load_balancer.api import loadbalancers as lb
from tinystack.load_balancer.api import members as mem
from tinystack.load_balancer.api import pools as po
from tinystack.load_balancer.api import providers as pr
from tinystack.load_balancer.api import quotas as qu
from tinystack.load_balancer.api import versions
from tinystack.load_balancer.policies import healthmonitor as hm_p
from tinystack.load_balancer.policies import l7policy as l7p_p
from tinystack.load_balancer.policies import l7rule as l7r_p
from tinystack.load_balancer.policies import listener as li_p
from tinystack.load_balancer.policies import loadbalancer as lb_p
from tinystack.load_balancer.policies import member as mem_p
from tinystack.load_balancer.policies import pool as po_p
from tinystack.load_balancer.policies import provider as pr_p
from tinystack.load_balancer.policies import quota as qu_p

V = "/v2/lbaas"
LB = V + "/loadbalancers/{loadbalancer_id}"
LI = V + "/listeners/{listener_id}"
PO = V + "/pools/{pool_id}"
L7P = V + "/l7policies/{l7policy_id}"


class Route(NamedTuple):
    method: str
    path: str
    handler: Callable[..., Any]
    #: the policy rules the handler (or the service it calls) checks; () for public
    rules: tuple[str, ...]
    status: int = 200


ROUTES = [
    Route("GET", "/", versions.root, ()),
    Route("GET", V + "/loadbalancers", lb.list_, (lb_p.GET_ALL, lb_p.GET_ALL_GLOBAL)),
    Route("POST", V + "/loadbalancers", lb.create, (lb_p.POST,), 201),
    Route("GET", LB, lb.show, (lb_p.GET_ONE,)),
    Route("PUT", LB, lb.update, (lb_p.PUT,)),
    Route("DELETE", LB, lb.delete, (lb_p.DELETE,), 204),
    Route("GET", LB + "/stats", lb.stats, (lb_p.GET_STATS,)),
    Route("GET", LB + "/status", lb.status, (lb_p.GET_STATUS,)),
    Route("PUT", LB + "/failover", lb.failover, (lb_p.PUT_FAILOVER,), 202),
    Route("GET", V + "/listeners", li.list_, (li_p.GET_ALL, li_p.GET_ALL_GLOBAL)),
    Route("POST", V + "/listeners", li.create, (li_p.POST,), 201),
    Route("GET", LI, li.show, (li_p.GET_ONE,)),
    Route("PUT", LI, li.update, (li_p.PUT,)),
    Route("DELETE", LI, li.delete, (li_p.DELETE,), 204),
    Route("GET", LI + "/stats", li.stats, (li_p.GET_STATS,)),
    Route("GET", V + "/pools", po.list_, (po_p.GET_ALL, po_p.GET_ALL_GLOBAL)),
    Route("POST", V + "/pools", po.create, (po_p.POST,), 201),
    Route("GET", PO, po.show, (po_p.GET_ONE,)),
    Route("PUT", PO, po.update, (po_p.PUT,)),
    Route("DELETE", PO, po.delete, (po_p.DELETE,), 204),
    Route("GET", PO + "/members", mem.list_, (mem_p.GET_ALL, mem_p.GET_ALL_GLOBAL)),
    Route("POST", PO + "/members", mem.create, (mem_p.POST,), 201),
    Route("PUT", PO + "/members", mem.batch_update, (mem_p.PUT,), 202),
    Route("GET", PO + "/members/{member_id}", mem.show, (mem_p.GET_ONE,)),
    Route("PUT", PO + "/members/{member_id}", mem.update, (mem_p.PUT,)),
    Route("DELETE", PO + "/members/{member_id}", mem.delete, (mem_p.DELETE,), 204),
    Route("GET", V + "/healthmonitors", hm.list_, (hm_p.GET_ALL, hm_p.GET_ALL_GLOBAL)),
    Route("POST", V + "/healthmonitors", hm.create, (hm_p.POST,), 201),
    Route("GET", V + "/healthmonitors/{healthmonitor_id}", hm.show, (hm_p.GET_ONE,)),
    Route("PUT", V + "/healthmonitors/{healthmonitor_id}", hm.update, (hm_p.PUT,)),
    Route("DELETE", V + "/healthmonitors/{healthmonitor_id}", hm.delete, (hm_p.DELETE,), 204),
    Route("GET", V + "/l7policies", l7p.list_, (l7p_p.GET_ALL, l7p_p.GET_ALL_GLOBAL)),
    Route("POST", V + "/l7policies", l7p.create, (l7p_p.POST,), 201),
    Route("GET", L7P, l7p.show, (l7p_p.GET_ONE,)),
    Route("PUT", L7P, l7p.update, (l7p_p.PUT,)),
    Route("DELETE", L7P, l7p.delete, (l7p_p.DELETE,), 204),
    Route("GET", L7P + "/rules", l7r.list_, (l7r_p.GET_ALL, l7r_p.GET_ALL_GLOBAL)),
    Route("POST", L7P + "/rules", l7r.create, (l7r_p.POST,), 201),
    Route("GET", L7P + "/rules/{l7rule_id}", l7r.show, (l7r_p.GET_ONE,)),
    Route("PUT", L7P + "/rules/{l7rule_id}", l7r.update, (l7r_p.PUT,)),
    Route("DELETE", L7P + "/rules/{l7rule_id}", l7r.delete, (l7r_p.DELETE,), 204),
    Route("GET", V + "/quotas", qu.list_, (qu_p.GET_ALL, qu_p.GET_ALL_GLOBAL)),
    Route("GET", V + "/quotas/defaults", qu.defaults, (qu_p.GET_DEFAULTS,)),
    Route("GET", V + "/quotas/{project_id}", qu.show, (qu_p.GET_ONE,)),
    Route("PUT", V + "/quotas/{project_id}", qu.update, (qu_p.PUT,)),
    Route("DELETE", V + "/quotas/{project_id}", qu.delete, (qu_p.DELETE,), 204),
    Route("GET", V + "/providers", pr.list_, (pr_p.GET_ALL,)),
    Route(
        "GET",
        V + "/providers/{provider}/flavor_capabilities",
        pr.flavor_capabilities,
        (pr_p.FLAVOR_CAPABILITIES,),
    ),
    Route(
        "GET",
        V + "/providers/{provider}/availability_zone_capabilities",
        pr.availability_zone_capabilities,
        (pr_p.AZ_CAPABILITIES,),
    ),
    Route("GET", V + "/flavors", pr.flavors, (pr_p.FLAVOR_GET_ALL,)),
    Route("GET", V + "/flavors/{flavor_id}", pr.flavor, (pr_p.FLAVOR_GET_ONE,)),
    Route("GET", V + "/flavorprofiles", pr.flavorprofiles, (pr_p.FLAVOR_PROFILE_GET_ALL,)),
    Route("GET", V + "/availabilityzones", pr.availability_zones, (pr_p.AZ_GET_ALL,)),
]


def build() -> APIRouter:
    router = APIRouter()
    for r in ROUTES:
        extra = policies(*r.rules) if r.rules else dict(PUBLIC)
        router.add_api_route(
            r.path, r.handler, methods=[r.method], status_code=r.status, openapi_extra=extra
        )
    return router


router = build()
