"""``POST /reshaper`` (1.30): atomically move inventory and allocations."""

from __future__ import annotations

from starlette.responses import Response

from tinystack.placement.api.allocations import to_request
from tinystack.placement.api.deps import PlacementReq
from tinystack.placement.api.schemas import ReshapeV1_30, ReshapeV1_34, ReshapeV1_38
from tinystack.placement.policies import reshaper as policies
from tinystack.placement.services import reshaper as reshaper_obj


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
        inventories[uuid] = (data.resource_provider_generation, invs)
    requests = [to_request(req, consumer, alloc) for consumer, alloc in body.allocations.items()]
    reshaper_obj.reshape(req.deps, inventories, requests)
    return req.no_content()
