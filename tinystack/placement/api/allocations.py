"""``/allocations`` (POST, 1.13), ``/allocations/{consumer_uuid}`` and provider allocations.

The PUT body changed shape over the versions: a list of provider/resources
pairs (1.0), plus project and user (1.8), an object keyed by provider (1.12),
plus the consumer generation and empty allocations to delete (1.28), plus
ignored ``mappings`` (1.34), plus the consumer type (1.38).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from tinystack.common.exceptions import BadRequest
from tinystack.placement.api import params
from tinystack.placement.api.deps import PlacementReq, PlacementRequest
from tinystack.placement.api.schemas import (
    POST_SCHEMAS,
    Body,
    ConsumerV1_13,
    ConsumerV1_28,
    ConsumerV1_34,
    ConsumerV1_38,
    ProviderAllocation,
    PutV1_0,
    PutV1_8,
    PutV1_12,
)
from tinystack.placement.policies import allocation as policies
from tinystack.placement.services import allocation as alloc_obj
from tinystack.placement.services.allocation import ConsumerRequest


def consumer_schema(req: PlacementRequest) -> type[ConsumerV1_13]:
    for version, schema in (
        ("1.38", ConsumerV1_38),
        ("1.34", ConsumerV1_34),
        ("1.28", ConsumerV1_28),
    ):
        if req.at_least(version):
            return schema
    return ConsumerV1_13


def _put_schema(req: PlacementRequest) -> type[Body]:
    if req.at_least("1.28"):
        return consumer_schema(req)
    if req.at_least("1.12"):
        return PutV1_12
    return PutV1_8 if req.at_least("1.8") else PutV1_0


def to_request(req: PlacementRequest, uuid: str, body: Body) -> ConsumerRequest:
    if isinstance(body, PutV1_0):
        allocations = {a.resource_provider.uuid: dict(a.resources) for a in body.allocations}
    else:
        items: dict[str, ProviderAllocation] = getattr(body, "allocations")  # noqa: B009
        allocations = {rp: dict(a.resources) for rp, a in items.items()}
    return ConsumerRequest(
        uuid=uuid,
        allocations=allocations,
        project_id=getattr(body, "project_id", None),
        user_id=getattr(body, "user_id", None),
        generation=getattr(body, "consumer_generation", None),
        check_generation=req.at_least("1.28"),
        consumer_type=getattr(body, "consumer_type", None),
    )


def list_for_consumer(consumer_uuid: str, req: PlacementReq) -> Response:
    req.can(policies.ALLOC_LIST)
    found = alloc_obj.get_for_consumer(req.deps, consumer_uuid)
    body: dict[str, Any] = {
        "allocations": {
            rp: {"generation": generation, "resources": resources}
            for rp, (generation, resources) in found.allocations.items()
        }
    }
    if found.allocations and req.at_least("1.12"):
        body["project_id"] = found.project_id
        body["user_id"] = found.user_id
        if req.at_least("1.28"):
            body["consumer_generation"] = found.generation
        if req.at_least("1.38"):
            body["consumer_type"] = found.consumer_type
    return req.respond(body, last_modified=found.last_modified)


def set_allocations_for_consumer(consumer_uuid: str, req: PlacementReq) -> Response:
    req.can(policies.ALLOC_UPDATE)
    req.require_json()
    if not params.is_uuid_like(consumer_uuid):
        raise BadRequest(f"Malformed consumer_uuid: {consumer_uuid}")
    uuid = params.normalize_uuid(consumer_uuid)
    body = req.body(_put_schema(req))
    alloc_obj.replace(req.deps, [to_request(req, uuid, body)])
    return req.no_content()


def set_allocations(req: PlacementReq) -> Response:
    req.can(policies.ALLOC_MANAGE)
    req.require_json()
    schema = POST_SCHEMAS[consumer_schema(req)]
    data: dict[str, Body] = req.validate(schema, req.json())  # type: ignore[arg-type]
    alloc_obj.replace(req.deps, [to_request(req, uuid, body) for uuid, body in data.items()])
    return req.no_content()


def delete_allocations(consumer_uuid: str, req: PlacementReq) -> Response:
    req.can(policies.ALLOC_DELETE)
    alloc_obj.delete_for_consumer(req.deps, consumer_uuid)
    return req.no_content()


def list_for_resource_provider(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.RP_ALLOC_LIST)
    found = alloc_obj.get_for_provider(req.deps, uuid)
    show_generation = req.at_least("1.28")
    allocations: dict[str, Any] = {}
    for consumer, (generation, resources) in found.allocations.items():
        entry: dict[str, Any] = {"resources": resources}
        if show_generation:
            entry["consumer_generation"] = generation
        allocations[consumer] = entry
    body = {
        "allocations": allocations,
        "resource_provider_generation": found.provider.generation,
    }
    return req.respond(body, last_modified=found.last_modified)
