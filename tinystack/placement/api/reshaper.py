"""``POST /reshaper`` (1.30): atomically move inventory and allocations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.placement.api.allocations import (
    ConsumerV1_28,
    ConsumerV1_34,
    ConsumerV1_38,
    to_request,
)
from tinystack.placement.api.inventories import SetInventories
from tinystack.placement.api.request import PlacementReq
from tinystack.placement.api.schemas import Body, UuidKey
from tinystack.placement.policies import reshaper as policies
from tinystack.placement.services import inventory as inv_obj
from tinystack.placement.services import reshaper as reshaper_obj

router = APIRouter()
Inventories = Annotated[dict[UuidKey, SetInventories], Field(min_length=1)]


class ReshapeV1_30(Body):
    inventories: Inventories
    allocations: dict[UuidKey, ConsumerV1_28]


class ReshapeV1_34(ReshapeV1_30):
    allocations: dict[UuidKey, ConsumerV1_34]  # type: ignore[assignment]


class ReshapeV1_38(ReshapeV1_30):
    allocations: dict[UuidKey, ConsumerV1_38]  # type: ignore[assignment]


@router.post("/reshaper", openapi_extra=since("1.30"))
def reshape(req: PlacementReq) -> Response:
    req.can(policies.RESHAPE)
    req.require_json()
    schema: type[ReshapeV1_30] = ReshapeV1_30
    if req.at_least("1.38"):
        schema = ReshapeV1_38
    elif req.at_least("1.34"):
        schema = ReshapeV1_34
    body = req.body(schema)
    inventories = {}
    for uuid, data in body.inventories.items():
        invs = [fields.to_inventory(rc) for rc, fields in data.inventories.items()]
        inv_obj.check_capacity(invs, uuid, reserved_can_be_total=True)
        inventories[uuid] = (data.resource_provider_generation, invs)
    requests = [to_request(req, consumer, alloc) for consumer, alloc in body.allocations.items()]
    reshaper_obj.reshape(req.deps, inventories, requests)
    return req.no_content()
