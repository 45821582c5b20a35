"""``/resource_providers/{uuid}/aggregates`` (1.1; generations from 1.19)."""

from __future__ import annotations

from starlette.responses import Response

from tinystack.placement.api.deps import PlacementReq, PlacementRequest
from tinystack.placement.api.schemas import AggregateList, SetAggregates
from tinystack.placement.policies import aggregate as policies
from tinystack.placement.services import aggregate as agg_obj


def _send(req: PlacementRequest, generation: int, aggregates: list[str]) -> Response:
    body: dict[str, object] = {"aggregates": aggregates}
    if req.at_least("1.19"):
        body["resource_provider_generation"] = generation
    return req.respond(body)


def get_aggregates(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.LIST)
    provider, aggregates = agg_obj.get_for_provider(req.deps, uuid)
    return _send(req, provider.generation, aggregates)


def set_aggregates(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.UPDATE)
    req.require_json()

    def parse() -> tuple[list[str], int | None]:
        if req.at_least("1.19"):
            body = req.body(SetAggregates)
            return body.aggregates, body.resource_provider_generation
        return req.validate(AggregateList, req.json()), None

    # the service parses the body once the provider exists (404 before any body problem)
    provider, current = agg_obj.set_for_provider(req.deps, uuid, parse)
    return _send(req, provider.generation, current)
