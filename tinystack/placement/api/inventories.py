"""``/resource_providers/{uuid}/inventories[/{resource_class}]``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.exceptions import NotFound
from tinystack.placement.api.request import PlacementReq, PlacementRequest
from tinystack.placement.api.schemas import Body, BoundedInt, Generation, Ratio, ResourceClassName
from tinystack.placement.policies import inventory as policies
from tinystack.placement.services import inventory as inv_obj
from tinystack.placement.services import resource_provider as rp_obj
from tinystack.placement.services.inventory import Inventory
from tinystack.placement.services.rows import MAX_INT

router = APIRouter()
_PATH = "/resource_providers/{uuid}/inventories"
Positive = Annotated[BoundedInt, Field(ge=1)]
NonNegative = Annotated[BoundedInt, Field(ge=0)]


class InventoryFields(Body):
    total: Positive
    reserved: NonNegative = 0
    min_unit: Positive = 1
    max_unit: Positive = MAX_INT
    step_size: Positive = 1
    allocation_ratio: Ratio = 1.0
    #: accepted (and ignored) inside each record of PUT .../inventories, as upstream
    resource_provider_generation: Generation | None = None

    def to_inventory(self, resource_class: str) -> Inventory:
        return Inventory(
            resource_class=resource_class,
            total=self.total,
            reserved=self.reserved,
            min_unit=self.min_unit,
            max_unit=self.max_unit,
            step_size=self.step_size,
            allocation_ratio=self.allocation_ratio,
        )


class CreateInventory(InventoryFields):
    resource_class: ResourceClassName


class UpdateInventory(InventoryFields):
    resource_provider_generation: Generation


class SetInventories(Body):
    resource_provider_generation: Generation
    inventories: dict[ResourceClassName, InventoryFields]


def serialize(inv: Inventory) -> dict[str, Any]:
    return {
        "total": inv.total,
        "reserved": inv.reserved,
        "min_unit": inv.min_unit,
        "max_unit": inv.max_unit,
        "step_size": inv.step_size,
        "allocation_ratio": inv.allocation_ratio,
    }


def _send_all(
    req: PlacementRequest, generation: int, inventories: dict[str, Inventory]
) -> Response:
    modified = max(
        (i.updated_at or i.created_at for i in inventories.values() if i.created_at), default=None
    )
    body = {
        "resource_provider_generation": generation,
        "inventories": {rc: serialize(inv) for rc, inv in inventories.items()},
    }
    return req.respond(body, last_modified=modified)


def _send_one(
    req: PlacementRequest, generation: int, inv: Inventory, status: int = 200, **extra: Any
) -> Response:
    body = serialize(inv) | {"resource_provider_generation": generation}
    return req.respond(body, status, last_modified=inv.updated_at or inv.created_at, **extra)


@router.get(_PATH)
def get_inventories(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.LIST)
    provider, inventories = inv_obj.get_all(req.deps, uuid)
    return _send_all(req, provider.generation, inventories)


@router.post(_PATH)
def create_inventory(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.CREATE)
    req.require_json()
    rp_obj.get(req.deps, uuid)  # a missing provider is a 404 before any body problem
    body = req.body(CreateInventory)
    inventory = body.to_inventory(body.resource_class)
    inv_obj.check_capacity([inventory], uuid, req.at_least("1.26"), "create")
    provider, created = inv_obj.add(req.deps, uuid, inventory)
    location = req.url(f"/resource_providers/{uuid}/inventories/{body.resource_class}")
    return _send_one(req, provider.generation, created, 201, location=location)


@router.put(_PATH)
def set_inventories(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.UPDATE)
    req.require_json()
    rp_obj.get(req.deps, uuid)  # a missing provider is a 404 before any body problem
    body = req.body(SetInventories)
    inventories = [fields.to_inventory(rc) for rc, fields in body.inventories.items()]
    inv_obj.check_capacity(inventories, uuid, req.at_least("1.26"))
    provider, current = inv_obj.set_all(
        req.deps, uuid, body.resource_provider_generation, inventories
    )
    return _send_all(req, provider.generation, current)


@router.delete(_PATH, openapi_extra=since("1.5", absent=405))
def delete_inventories(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.DELETE)
    inv_obj.delete_all(req.deps, uuid)
    return req.no_content()


@router.get(_PATH + "/{resource_class}")
def get_inventory(uuid: str, resource_class: str, req: PlacementReq) -> Response:
    req.can(policies.SHOW)
    provider, inventories = inv_obj.get_all(req.deps, uuid)
    inventory = inventories.get(resource_class)
    if inventory is None:
        raise NotFound(f"No inventory of class {resource_class} for {uuid}")
    return _send_one(req, provider.generation, inventory)


@router.put(_PATH + "/{resource_class}")
def update_inventory(uuid: str, resource_class: str, req: PlacementReq) -> Response:
    req.can(policies.UPDATE)
    req.require_json()
    rp_obj.get(req.deps, uuid)  # a missing provider is a 404 before any body problem
    body = req.body(UpdateInventory)
    inventory = body.to_inventory(resource_class)
    inv_obj.check_capacity([inventory], uuid, req.at_least("1.26"))
    provider, updated = inv_obj.update_one(
        req.deps, uuid, body.resource_provider_generation, inventory
    )
    return _send_one(req, provider.generation, updated)


@router.delete(_PATH + "/{resource_class}")
def delete_inventory(uuid: str, resource_class: str, req: PlacementReq) -> Response:
    req.can(policies.DELETE)
    inv_obj.delete_one(req.deps, uuid, resource_class)
    return req.no_content()
