"""THE placement route table: every route, the versions it exists at, the bodies it takes.

Resource modules hold the handlers; this table mounts them, in upstream's URL order.
``since`` declares a route's first (and last) version: outside them it answers 404
(405 where upstream does). ``body`` names the request models of every version (only
documented: the handler validates with the model of the request's version).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from tinystack.common.api.microversion import since as declare_since
from tinystack.placement.api import aggregates as agg
from tinystack.placement.api import allocation_candidates as cand
from tinystack.placement.api import allocations as alloc
from tinystack.placement.api import inventories as inv
from tinystack.placement.api import reshaper as resh
from tinystack.placement.api import resource_classes as rc
from tinystack.placement.api import resource_providers as rp
from tinystack.placement.api import root, usages
from tinystack.placement.api import schemas as s
from tinystack.placement.api import traits as tr

router = APIRouter()
RP = "/resource_providers/{uuid}"
INV = RP + "/inventories"
INV_RC = INV + "/{resource_class}"
RC = "/resource_classes/{name}"
CONSUMER = "/allocations/{consumer_uuid}"
NO_BODY: tuple[object, ...] = ()


def route(
    method: str,
    path: str,
    handler: Callable[..., Any],
    since: str | None = None,
    body: tuple[object, ...] = NO_BODY,
    *,
    absent: int = 404,
    body_required: bool = True,
) -> None:
    extra: dict[str, Any] = declare_since(since, absent=absent) if since else {}
    if body:
        extra.update(s.request_body(body, required=body_required))
    router.add_api_route(path, handler, methods=[method], openapi_extra=extra or None)


# fmt: off
route("GET",    "/",                     root.home)
route("GET",    "/resource_providers",   rp.list_resource_providers)
route("POST",   "/resource_providers",   rp.create_resource_provider, body=s.PROVIDER_CREATE)
route("GET",    RP,                      rp.get_resource_provider)
route("PUT",    RP,                      rp.update_resource_provider, body=s.PROVIDER_UPDATE)
route("DELETE", RP,                      rp.delete_resource_provider)
route("GET",    INV,                     inv.get_inventories)
route("POST",   INV,                     inv.create_inventory, body=(s.CreateInventory,))
route("PUT",    INV,                     inv.set_inventories, body=(s.SetInventories,))
route("DELETE", INV,                     inv.delete_inventories, "1.5", absent=405)
route("GET",    INV_RC,                  inv.get_inventory)
route("PUT",    INV_RC,                  inv.update_inventory, body=(s.UpdateInventory,))
route("DELETE", INV_RC,                  inv.delete_inventory)
route("GET",    RP + "/aggregates",      agg.get_aggregates, "1.1")
route("PUT",    RP + "/aggregates",      agg.set_aggregates, "1.1", s.AGGREGATES_SET)
route("GET",    "/resource_classes",     rc.list_resource_classes, "1.2")
route("POST",   "/resource_classes",     rc.create_resource_class, "1.2", (s.ResourceClassBody,))
route("GET",    RC,                      rc.get_resource_class, "1.2")
route("PUT",    RC,                      rc.update_resource_class, "1.2", (s.ResourceClassBody,),
      body_required=False)  # a body only before 1.7
route("DELETE", RC,                      rc.delete_resource_class, "1.2")
route("GET",    "/traits",               tr.list_traits, "1.6")
route("GET",    "/traits/{name}",        tr.get_trait, "1.6")
route("PUT",    "/traits/{name}",        tr.put_trait, "1.6")  # no body, as upstream
route("DELETE", "/traits/{name}",        tr.delete_trait, "1.6")
route("GET",    RP + "/traits",          tr.list_provider_traits, "1.6")
route("PUT",    RP + "/traits",          tr.update_provider_traits, "1.6", (s.SetProviderTraits,))
route("DELETE", RP + "/traits",          tr.delete_provider_traits, "1.6")
route("GET",    CONSUMER,                alloc.list_for_consumer)
route("PUT",    CONSUMER,                alloc.set_allocations_for_consumer, body=s.ALLOCATIONS_PUT)
route("POST",   "/allocations",          alloc.set_allocations, "1.13", s.ALLOCATIONS_POST)
route("DELETE", CONSUMER,                alloc.delete_allocations)
route("GET",    RP + "/allocations",     alloc.list_for_resource_provider)
route("GET",    RP + "/usages",          usages.list_usages)
route("GET",    "/usages",               usages.get_total_usages, "1.9")
route("GET",    "/allocation_candidates", cand.list_allocation_candidates, "1.10")
route("POST",   "/reshaper",             resh.reshape, "1.30", s.RESHAPE)
# fmt: on
