"""``/resource_providers`` and ``/resource_providers/{uuid}``."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from starlette.responses import Response

from tinystack.common.timeutils import new_uuid
from tinystack.placement.api import params
from tinystack.placement.api.deps import PlacementReq, PlacementRequest
from tinystack.placement.api.schemas import (
    CreateProvider,
    CreateProviderV1_14,
    UpdateProvider,
    UpdateProviderV1_14,
)
from tinystack.placement.policies import resource_provider as policies
from tinystack.placement.services import resource_provider as rp_obj
from tinystack.placement.services.resource_provider import Provider, ProviderFilter


def provider_url(req: PlacementRequest, uuid: str) -> str:
    return req.url(f"/resource_providers/{uuid}")


def serialize(req: PlacementRequest, provider: Provider) -> dict[str, Any]:
    url = provider_url(req, provider.uuid)
    rels = ["inventories", "usages"]
    rels += [r for r, v in (("aggregates", "1.1"), ("traits", "1.6"), ("allocations", "1.11"))
             if req.at_least(v)]  # fmt: skip
    data: dict[str, Any] = {
        "uuid": provider.uuid,
        "name": provider.name,
        "generation": provider.generation,
        "links": [{"rel": "self", "href": url}] + [{"rel": r, "href": f"{url}/{r}"} for r in rels],
    }
    if req.at_least("1.14"):
        data["parent_provider_uuid"] = provider.parent_provider_uuid
        data["root_provider_uuid"] = provider.root_provider_uuid
    return data


def _list_filter(req: PlacementRequest) -> ProviderFilter:
    allowed = ["name", "uuid"]
    for key, version in (
        ("member_of", "1.3"),
        ("resources", "1.4"),
        ("in_tree", "1.14"),
        ("required", "1.18"),
    ):
        if req.at_least(version):
            allowed.append(key)
    req.check_query(allowed)
    query = req.query
    flt = ProviderFilter(name=req.one("name"))
    if (uuid := req.one("uuid")) is not None:
        flt.uuid = params.uuid_param("uuid", uuid)
    if "member_of" in query:
        flt.member_of, flt.forbidden_aggs = params.member_of(
            query.getlist("member_of"), req.version
        )
    if (resources := req.one("resources")) is not None:
        flt.resources = params.resources(resources)
    if (in_tree := req.one("in_tree")) is not None:
        flt.in_tree = params.uuid_param("in_tree", in_tree)
    if "required" in query:
        flt.required, flt.forbidden_traits = params.required(query.getlist("required"), req.version)
    return flt


def list_resource_providers(req: PlacementReq) -> Response:
    req.can(policies.LIST)
    providers = rp_obj.list_all(req.deps, _list_filter(req))
    modified = max((p.updated_at or p.created_at for p in providers if p.created_at), default=None)
    return req.respond(
        {"resource_providers": [serialize(req, p) for p in providers]}, last_modified=modified
    )


def create_resource_provider(req: PlacementReq) -> Response:
    req.can(policies.CREATE)
    req.require_json()
    body = req.body(CreateProviderV1_14 if req.at_least("1.14") else CreateProvider)
    uuid = str(uuidlib.UUID(body.uuid)) if body.uuid else new_uuid()
    parent = getattr(body, "parent_provider_uuid", None)
    if parent is not None:
        parent = params.normalize_uuid(parent)
    provider = rp_obj.create(req.deps, body.name, uuid, parent)
    location = provider_url(req, provider.uuid)
    if req.at_least("1.20"):
        return req.respond(
            serialize(req, provider), location=location, last_modified=provider.created_at
        )
    return req.no_content(201, location=location)


def get_resource_provider(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.SHOW)
    provider = rp_obj.get(req.deps, uuid)
    return req.respond(
        serialize(req, provider), last_modified=provider.updated_at or provider.created_at
    )


def update_resource_provider(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.UPDATE)
    req.require_json()

    def parse() -> tuple[str, object]:
        body = req.body(UpdateProviderV1_14 if req.at_least("1.14") else UpdateProvider)
        parent: object = rp_obj.UNSET
        if "parent_provider_uuid" in body.model_fields_set:
            value = getattr(body, "parent_provider_uuid", None)
            parent = params.normalize_uuid(value) if value is not None else None
        return body.name, parent

    # the service parses the body once the provider exists (404 before any body problem)
    provider = rp_obj.update(req.deps, uuid, parse, allow_reparenting=req.at_least("1.37"))
    return req.respond(serialize(req, provider), last_modified=provider.updated_at)


def delete_resource_provider(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.DELETE)
    rp_obj.delete(req.deps, uuid)
    return req.no_content()
