"""THE placement route table: every route, its policy rule, its versions, its bodies.

Resource modules hold the handlers; this table mounts them, in upstream's URL order.
``since`` declares the first version a route exists at: before it the route answers 404
(405 where upstream does). ``body`` names the request models of every version (only
documented: the handler validates with the model of the request's version).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from fastapi import APIRouter

from tinystack.common.api.microversion import since as declare_since
from tinystack.common.api.openapi import PUBLIC, policies
from tinystack.placement.api import aggregates as agg
from tinystack.placement.api import allocation_candidates as cand
from tinystack.placement.api import allocations as alloc
from tinystack.placement.api import inventories as inv
from tinystack.placement.api import reshaper as resh
from tinystack.placement.api import resource_classes as rc
from tinystack.placement.api import resource_providers as rp
from tinystack.placement.api import schemas as s
from tinystack.placement.api import traits as tr
from tinystack.placement.api import usages, versions
from tinystack.placement.policies import aggregate as agg_p
from tinystack.placement.policies import allocation as alloc_p
from tinystack.placement.policies import allocation_candidate as cand_p
from tinystack.placement.policies import inventory as inv_p
from tinystack.placement.policies import reshaper as resh_p
from tinystack.placement.policies import resource_class as rc_p
from tinystack.placement.policies import resource_provider as rp_p
from tinystack.placement.policies import trait as tr_p
from tinystack.placement.policies import usage as use_p

RP = "/resource_providers/{uuid}"
INV = RP + "/inventories"
INV_RC = INV + "/{resource_class}"
RC = "/resource_classes/{name}"
CONSUMER = "/allocations/{consumer_uuid}"


class Route(NamedTuple):
    method: str
    path: str
    handler: Callable[..., Any]
    #: the policy rule the handler checks (None: a public route)
    rule: str | None
    #: the first version the route exists at (None: every version)
    since: str | None = None
    #: the request models of the body, one per version that changed it
    body: tuple[object, ...] = ()
    #: what the route answers before ``since`` (upstream: 405 for one route)
    absent: int = 404
    body_required: bool = True

    def openapi(self) -> dict[str, Any]:
        extra = policies(self.rule) if self.rule else dict(PUBLIC)
        if self.since:
            extra.update(declare_since(self.since, absent=self.absent))
        if self.body:
            extra.update(s.request_body(self.body, required=self.body_required))
        return extra


# fmt: off
ROUTES = (
    Route("GET",    "/",                     versions.home, None),
    Route("GET",    "/resource_providers",   rp.list_resource_providers, rp_p.LIST),
    Route("POST",   "/resource_providers",   rp.create_resource_provider, rp_p.CREATE,
          body=s.PROVIDER_CREATE),
    Route("GET",    RP,                      rp.get_resource_provider, rp_p.SHOW),
    Route("PUT",    RP,                      rp.update_resource_provider, rp_p.UPDATE,
          body=s.PROVIDER_UPDATE),
    Route("DELETE", RP,                      rp.delete_resource_provider, rp_p.DELETE),
    Route("GET",    INV,                     inv.get_inventories, inv_p.LIST),
    Route("POST",   INV,                     inv.create_inventory, inv_p.CREATE,
          body=(s.CreateInventory,)),
    Route("PUT",    INV,                     inv.set_inventories, inv_p.UPDATE,
          body=(s.SetInventories,)),
    Route("DELETE", INV,                     inv.delete_inventories, inv_p.DELETE,
          "1.5", absent=405),
    Route("GET",    INV_RC,                  inv.get_inventory, inv_p.SHOW),
    Route("PUT",    INV_RC,                  inv.update_inventory, inv_p.UPDATE,
          body=(s.UpdateInventory,)),
    Route("DELETE", INV_RC,                  inv.delete_inventory, inv_p.DELETE),
    Route("GET",    RP + "/aggregates",      agg.get_aggregates, agg_p.LIST, "1.1"),
    Route("PUT",    RP + "/aggregates",      agg.set_aggregates, agg_p.UPDATE,
          "1.1", s.AGGREGATES_SET),
    Route("GET",    "/resource_classes",     rc.list_resource_classes, rc_p.LIST, "1.2"),
    Route("POST",   "/resource_classes",     rc.create_resource_class, rc_p.CREATE,
          "1.2", (s.ResourceClassBody,)),
    Route("GET",    RC,                      rc.get_resource_class, rc_p.SHOW, "1.2"),
    Route("PUT",    RC,                      rc.update_resource_class, rc_p.UPDATE,
          "1.2", (s.ResourceClassBody,), body_required=False),  # a body only before 1.7
    Route("DELETE", RC,                      rc.delete_resource_class, rc_p.DELETE, "1.2"),
    Route("GET",    "/traits",               tr.list_traits, tr_p.TRAITS_LIST, "1.6"),
    Route("GET",    "/traits/{name}",        tr.get_trait, tr_p.TRAITS_SHOW, "1.6"),
    Route("PUT",    "/traits/{name}",        tr.put_trait, tr_p.TRAITS_UPDATE, "1.6"),  # no body
    Route("DELETE", "/traits/{name}",        tr.delete_trait, tr_p.TRAITS_DELETE, "1.6"),
    Route("GET",    RP + "/traits",          tr.list_provider_traits, tr_p.RP_TRAIT_LIST, "1.6"),
    Route("PUT",    RP + "/traits",          tr.update_provider_traits, tr_p.RP_TRAIT_UPDATE,
          "1.6", (s.SetProviderTraits,)),
    Route("DELETE", RP + "/traits",          tr.delete_provider_traits, tr_p.RP_TRAIT_DELETE,
          "1.6"),
    Route("GET",    CONSUMER,                alloc.list_for_consumer, alloc_p.ALLOC_LIST),
    Route("PUT",    CONSUMER,                alloc.set_allocations_for_consumer,
          alloc_p.ALLOC_UPDATE, body=s.ALLOCATIONS_PUT),
    Route("POST",   "/allocations",          alloc.set_allocations, alloc_p.ALLOC_MANAGE,
          "1.13", s.ALLOCATIONS_POST),
    Route("DELETE", CONSUMER,                alloc.delete_allocations, alloc_p.ALLOC_DELETE),
    Route("GET",    RP + "/allocations",     alloc.list_for_resource_provider,
          alloc_p.RP_ALLOC_LIST),
    Route("GET",    RP + "/usages",          usages.list_usages, use_p.PROVIDER_USAGES),
    Route("GET",    "/usages",               usages.get_total_usages, use_p.TOTAL_USAGES, "1.9"),
    Route("GET",    "/allocation_candidates", cand.list_allocation_candidates, cand_p.LIST, "1.10"),
    Route("POST",   "/reshaper",             resh.reshape, resh_p.RESHAPE, "1.30", s.RESHAPE),
)
# fmt: on


router = APIRouter()
for _route in ROUTES:
    router.add_api_route(
        _route.path,
        _route.handler,
        methods=[_route.method],
        tags=[_route.handler.__module__.rsplit(".", 1)[-1].replace("_", " ")],
        openapi_extra=_route.openapi(),
    )
