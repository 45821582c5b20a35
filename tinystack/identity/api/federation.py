"""``/v3/OS-FEDERATION``: identity providers, their protocols, mappings, service
providers, and the federated authentication of a protocol (``.../auth``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api import saml2
from tinystack.identity.api.deps import DepsDep, XmlBodyDep, authorize
from tinystack.identity.api.federation_schemas import (
    IdpBody,
    IdpUpdateBody,
    MappingBody,
    ProtocolBody,
    ProtocolUpdateBody,
    SpBody,
    SpUpdateBody,
)
from tinystack.identity.api.views import base_url, collection, render_token
from tinystack.identity.services import federated_auth, federation
from tinystack.identity.services.federation import (
    IdentityProvider,
    Mapping,
    Protocol,
    ServiceProvider,
)

FED = "/v3/OS-FEDERATION"


def render_idp(request: Request, idp: IdentityProvider) -> dict[str, Any]:
    url = f"{base_url(request)}{FED}/identity_providers/{idp.id}"
    return {
        "id": idp.id,
        "enabled": idp.enabled,
        "description": idp.description,
        "domain_id": idp.domain_id,
        "authorization_ttl": idp.authorization_ttl,
        "remote_ids": list(idp.remote_ids),
        "links": {"self": url, "protocols": f"{url}/protocols"},
    }


def render_protocol(request: Request, protocol: Protocol) -> dict[str, Any]:
    idp_url = f"{base_url(request)}{FED}/identity_providers/{protocol.idp_id}"
    return {
        "id": protocol.id,
        "mapping_id": protocol.mapping_id,
        "remote_id_attribute": protocol.remote_id_attribute,
        "links": {"self": f"{idp_url}/protocols/{protocol.id}", "identity_provider": idp_url},
    }


def render_mapping(request: Request, mapping: Mapping) -> dict[str, Any]:
    return {
        "id": mapping.id,
        "rules": list(mapping.rules),
        "schema_version": mapping.schema_version,
        "links": {"self": f"{base_url(request)}{FED}/mappings/{mapping.id}"},
    }


def render_sp(request: Request, sp: ServiceProvider) -> dict[str, Any]:
    return {
        "id": sp.id,
        "auth_url": sp.auth_url,
        "sp_url": sp.sp_url,
        "description": sp.description,
        "enabled": sp.enabled,
        "relay_state_prefix": sp.relay_state_prefix,
        "links": {"self": f"{base_url(request)}{FED}/service_providers/{sp.id}"},
    }


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.lower() in ("1", "true", "yes", "on")


# -- identity providers -----------------------------------------------------------------------


def create_idp(
    request: Request, ctx: ContextDep, deps: DepsDep, idp_id: str, body: IdpBody
) -> JSONResponse:
    authorize(ctx, "identity:create_identity_provider")
    idp = federation.create_idp(deps, idp_id, body.identity_provider.attributes())
    return JSONResponse({"identity_provider": render_idp(request, idp)}, status_code=201)


def list_idps(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    id: str | None = None,
    enabled: str | None = None,
) -> dict[str, Any]:
    authorize(ctx, "identity:list_identity_providers")
    found = federation.list_idps(deps, id, _flag(enabled))
    return collection(request, "identity_providers", found, render_idp)


def show_idp(request: Request, ctx: ContextDep, deps: DepsDep, idp_id: str) -> dict[str, Any]:
    authorize(ctx, "identity:get_identity_provider")
    return {"identity_provider": render_idp(request, federation.get_idp(deps, idp_id))}


def update_idp(
    request: Request, ctx: ContextDep, deps: DepsDep, idp_id: str, body: IdpUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_identity_provider")
    idp = federation.update_idp(deps, idp_id, body.identity_provider.attributes())
    return {"identity_provider": render_idp(request, idp)}


def delete_idp(ctx: ContextDep, deps: DepsDep, idp_id: str) -> Response:
    authorize(ctx, "identity:delete_identity_provider")
    federation.delete_idp(deps, idp_id)
    return Response(status_code=204)


# -- protocols --------------------------------------------------------------------------------


def create_protocol(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    idp_id: str,
    protocol_id: str,
    body: ProtocolBody,
) -> JSONResponse:
    authorize(ctx, "identity:create_protocol")
    protocol = federation.create_protocol(deps, idp_id, protocol_id, body.protocol.attributes())
    return JSONResponse({"protocol": render_protocol(request, protocol)}, status_code=201)


def list_protocols(request: Request, ctx: ContextDep, deps: DepsDep, idp_id: str) -> dict[str, Any]:
    authorize(ctx, "identity:list_protocols")
    return collection(
        request, "protocols", federation.list_protocols(deps, idp_id), render_protocol
    )


def show_protocol(
    request: Request, ctx: ContextDep, deps: DepsDep, idp_id: str, protocol_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_protocol")
    protocol = federation.get_protocol(deps, idp_id, protocol_id)
    return {"protocol": render_protocol(request, protocol)}


def update_protocol(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    idp_id: str,
    protocol_id: str,
    body: ProtocolUpdateBody,
) -> dict[str, Any]:
    authorize(ctx, "identity:update_protocol")
    protocol = federation.update_protocol(deps, idp_id, protocol_id, body.protocol.attributes())
    return {"protocol": render_protocol(request, protocol)}


def delete_protocol(ctx: ContextDep, deps: DepsDep, idp_id: str, protocol_id: str) -> Response:
    authorize(ctx, "identity:delete_protocol")
    federation.delete_protocol(deps, idp_id, protocol_id)
    return Response(status_code=204)


# -- mappings ---------------------------------------------------------------------------------


def create_mapping(
    request: Request, ctx: ContextDep, deps: DepsDep, mapping_id: str, body: MappingBody
) -> JSONResponse:
    authorize(ctx, "identity:create_mapping")
    mapping = federation.create_mapping(deps, mapping_id, body.mapping.attributes())
    return JSONResponse({"mapping": render_mapping(request, mapping)}, status_code=201)


def list_mappings(request: Request, ctx: ContextDep, deps: DepsDep) -> dict[str, Any]:
    authorize(ctx, "identity:list_mappings")
    return collection(request, "mappings", federation.list_mappings(deps), render_mapping)


def show_mapping(
    request: Request, ctx: ContextDep, deps: DepsDep, mapping_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_mapping")
    return {"mapping": render_mapping(request, federation.get_mapping(deps, mapping_id))}


def update_mapping(
    request: Request, ctx: ContextDep, deps: DepsDep, mapping_id: str, body: MappingBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_mapping")
    mapping = federation.update_mapping(deps, mapping_id, body.mapping.attributes())
    return {"mapping": render_mapping(request, mapping)}


def delete_mapping(ctx: ContextDep, deps: DepsDep, mapping_id: str) -> Response:
    authorize(ctx, "identity:delete_mapping")
    federation.delete_mapping(deps, mapping_id)
    return Response(status_code=204)


# -- service providers ------------------------------------------------------------------------


def create_sp(
    request: Request, ctx: ContextDep, deps: DepsDep, sp_id: str, body: SpBody
) -> JSONResponse:
    authorize(ctx, "identity:create_service_provider")
    sp = federation.create_sp(deps, sp_id, body.service_provider.attributes())
    return JSONResponse({"service_provider": render_sp(request, sp)}, status_code=201)


def list_sps(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    id: str | None = None,
    enabled: str | None = None,
) -> dict[str, Any]:
    authorize(ctx, "identity:list_service_providers")
    found = federation.list_sps(deps, id, _flag(enabled))
    return collection(request, "service_providers", found, render_sp)


def show_sp(request: Request, ctx: ContextDep, deps: DepsDep, sp_id: str) -> dict[str, Any]:
    authorize(ctx, "identity:get_service_provider")
    return {"service_provider": render_sp(request, federation.get_sp(deps, sp_id))}


def update_sp(
    request: Request, ctx: ContextDep, deps: DepsDep, sp_id: str, body: SpUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_service_provider")
    sp = federation.update_sp(deps, sp_id, body.service_provider.attributes())
    return {"service_provider": render_sp(request, sp)}


def delete_sp(ctx: ContextDep, deps: DepsDep, sp_id: str) -> Response:
    authorize(ctx, "identity:delete_service_provider")
    federation.delete_sp(deps, sp_id)
    return Response(status_code=204)


# -- federated authentication -----------------------------------------------------------------


def authenticate(
    request: Request, deps: DepsDep, idp_id: str, protocol_id: str, document: XmlBodyDep
) -> JSONResponse:
    """Public: the bearer's OpenID Connect token is the credential, or the signed SAML 2.0
    assertion (Keystone-to-Keystone) an XML body holds."""
    if document:
        url = saml2.auth_url(request, idp_id, protocol_id)
        saml = federated_auth.issue_saml2(deps, idp_id, protocol_id, document, url)
        return JSONResponse(
            render_token(saml.token), status_code=201, headers={"X-Subject-Token": saml.id}
        )
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    bearer = value.strip() if scheme.lower() == "bearer" else None
    issued = federated_auth.issue(deps, idp_id, protocol_id, bearer)
    return JSONResponse(
        render_token(issued.token), status_code=201, headers={"X-Subject-Token": issued.id}
    )
