"""``/traits`` and ``/resource_providers/{uuid}/traits`` (1.6)."""

from __future__ import annotations

from starlette.responses import Response

from tinystack.common.exceptions import BadRequest
from tinystack.placement.api import params
from tinystack.placement.api.deps import PlacementReq, PlacementRequest
from tinystack.placement.api.schemas import SetProviderTraits
from tinystack.placement.policies import trait as policies
from tinystack.placement.services import trait as trait_obj
from tinystack.placement.services.trait import Trait, TraitFilter


def _modified(traits: list[Trait]) -> object:
    return max((t.updated_at or t.created_at for t in traits if t.created_at), default=None)


def _filter(req: PlacementRequest) -> TraitFilter:
    req.check_query(["name", "associated"])
    flt = TraitFilter()
    if (name := req.one("name")) is not None:
        op, sep, value = name.partition(":")
        if not sep:
            raise BadRequest(
                "Badly formatted name parameter. Expected name query string parameter in form: "
                f'?name=[in|startswith]:[name1,name2|prefix]. Got: "{name}"'
            )
        if op == "in":
            flt.names = value.split(",")
        elif op == "startswith":
            flt.prefix = value
    if (associated := req.one("associated")) is not None:
        if associated.lower() not in ("true", "false"):
            raise BadRequest('The query parameter "associated" only accepts "true" or "false"')
        flt.associated = associated.lower() == "true"
    return flt


def list_traits(req: PlacementReq) -> Response:
    req.can(policies.TRAITS_LIST)
    traits = trait_obj.list_all(req.deps, _filter(req))
    return req.respond({"traits": [t.name for t in traits]}, last_modified=_modified(traits))


def get_trait(name: str, req: PlacementReq) -> Response:
    req.can(policies.TRAITS_SHOW)
    trait = trait_obj.get(req.deps, name)
    return req.no_content(last_modified=trait.created_at)


def put_trait(name: str, req: PlacementReq) -> Response:
    req.can(policies.TRAITS_UPDATE)
    if not params.is_custom(name):
        raise BadRequest(
            "The trait is invalid. A valid trait must be no longer than 255 characters, start "
            'with the prefix "CUSTOM_" and use following characters: "A"-"Z", "0"-"9" and "_"'
        )
    trait, created = trait_obj.ensure(req.deps, name)
    return req.no_content(
        201 if created else 204,
        location=req.url(f"/traits/{trait.name}"),
        last_modified=trait.created_at,
    )


def delete_trait(name: str, req: PlacementReq) -> Response:
    req.can(policies.TRAITS_DELETE)
    trait_obj.delete(req.deps, name)
    return req.no_content()


def _send(req: PlacementRequest, generation: int, traits: list[Trait]) -> Response:
    body = {"traits": [t.name for t in traits], "resource_provider_generation": generation}
    return req.respond(body, last_modified=_modified(traits))


def list_provider_traits(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.RP_TRAIT_LIST)
    provider, traits = trait_obj.get_for_provider(req.deps, uuid)
    return _send(req, provider.generation, traits)


def update_provider_traits(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.RP_TRAIT_UPDATE)
    req.require_json()
    body = req.body(SetProviderTraits)
    provider, traits = trait_obj.set_for_provider(
        req.deps, uuid, body.traits, body.resource_provider_generation
    )
    return _send(req, provider.generation, traits)


def delete_provider_traits(uuid: str, req: PlacementReq) -> Response:
    req.can(policies.RP_TRAIT_DELETE)
    trait_obj.set_for_provider(req.deps, uuid, [], None)
    return req.no_content()
