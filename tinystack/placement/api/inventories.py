"""``/resource_providers/{uuid}/inventories[/{resource_class}]``."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.common.exceptions import NotFound
from tinystack.placement.api.deps import PlacementReq, PlacementRequest
from tinystack.placement.api.schemas import CreateInventory, SetInventories, UpdateInventory
from tinystack.placement.policies import inventory as policies
from tinystack.placement.services import inventory as inv_obj
from tinystack.placement.services.inventory import Inventory


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


def get_inventories(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.LIST)
    provider, inventories = inv_obj.get_all(req.deps, uuid)
    return _send_all(req, provider.generation, inventories)


def create_inventory(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.CREATE)
    req.require_json()

    def parse() -> Inventory:
        body = req.body(CreateInventory)
        return body.to_inventory(body.resource_class)

    # the service parses the body once the provider exists (404 before any body problem)
    provider, created = inv_obj.add(req.deps, uuid, parse, req.at_least("1.26"))
    location = req.url(f"/resource_providers/{uuid}/inventories/{created.resource_class}")
    return _send_one(req, provider.generation, created, 201, location=location)


def set_inventories(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.UPDATE)
    req.require_json()

    def parse() -> tuple[int, list[Inventory]]:
        body = req.body(SetInventories)
        inventories = [fields.to_inventory(rc) for rc, fields in body.inventories.items()]
        return body.resource_provider_generation, inventories

    # the service parses the body once the provider exists (404 before any body problem)
    provider, current = inv_obj.set_all(req.deps, uuid, parse, req.at_least("1.26"))
    return _send_all(req, provider.generation, current)


def delete_inventories(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.DELETE)
    inv_obj.delete_all(req.deps, uuid)
    return req.no_content()


def get_inventory(uuid: str, resource_class: str, req: PlacementReq) -> Response:
    req.can(policies.SHOW)
    provider, inventories = inv_obj.get_all(req.deps, uuid)
    inventory = inventories.get(resource_class)
    if inventory is None:
        raise NotFound(f"No inventory of class {resource_class} for {uuid}")
    return _send_one(req, provider.generation, inventory)


def update_inventory(uuid: str, resource_class: str, req: PlacementReq) -> Response:
    req.can(policies.UPDATE)
    req.require_json()

    def parse() -> tuple[int, Inventory]:
        body = req.body(UpdateInventory)
        return body.resource_provider_generation, body.to_inventory(resource_class)

    # the service parses the body once the provider exists (404 before any body problem)
    provider, updated = inv_obj.update_one(req.deps, uuid, parse, req.at_least("1.26"))
    return _send_one(req, provider.generation, updated)


def delete_inventory(uuid: str, resource_class: str, req: PlacementReq) -> Response:
    req.can(policies.DELETE)
    inv_obj.delete_one(req.deps, uuid, resource_class)
    return req.no_content()
