"""Keystone-to-Keystone federation (SAML 2.0): the identity provider's assertions
(``/v3/auth/OS-FEDERATION/saml2``, ``.../saml2/ecp``) and metadata
(``/v3/OS-FEDERATION/saml2/metadata``), and the service provider's ECP endpoint
(``/Shibboleth.sso/SAML2/ECP``, where keystoneauth's ``Keystone2Keystone`` posts the
envelope; this cloud answers it with the federated token itself)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.identity.api.deps import DepsDep, XmlBodyDep
from tinystack.identity.api.federation_schemas import Saml2Body
from tinystack.identity.api.views import base_url, render_token
from tinystack.identity.services import federated_auth, saml2

#: upstream answers assertions and metadata as text/xml
XML = "text/xml"
#: the protocol a Keystone-to-Keystone assertion authenticates with
PROTOCOL = "saml2"


def _headers(assertion: saml2.Saml2Assertion) -> dict[str, str]:
    """Where the assertion goes, as upstream tells the client."""
    return {"X-sp-url": assertion.sp_url, "X-auth-url": assertion.auth_url}


def create_assertion(request: Request, deps: DepsDep, body: Saml2Body) -> Response:
    """Public: the token in the body is the credential, as upstream."""
    assertion = saml2.create_assertion(
        deps, base_url(request), body.auth.identity.token.id, body.auth.scope.service_provider.id
    )
    return Response(assertion.xml, status_code=200, media_type=XML, headers=_headers(assertion))


def create_ecp_assertion(request: Request, deps: DepsDep, body: Saml2Body) -> Response:
    assertion = saml2.create_assertion(
        deps, base_url(request), body.auth.identity.token.id, body.auth.scope.service_provider.id
    )
    envelope = saml2.ecp_envelope(assertion)
    return Response(envelope, status_code=200, media_type=XML, headers=_headers(assertion))


def metadata(request: Request, deps: DepsDep) -> Response:
    return Response(saml2.metadata(deps, base_url(request)), status_code=200, media_type=XML)


def auth_url(request: Request, idp_id: str, protocol_id: str) -> str:
    """This cloud's federated authentication URL of a provider and protocol: the audience
    a Keystone IdP puts in assertions for it (the service provider's auth_url)."""
    idp = f"/v3/OS-FEDERATION/identity_providers/{idp_id}"
    return f"{base_url(request)}{idp}/protocols/{protocol_id}/auth"


def ecp(request: Request, deps: DepsDep, document: XmlBodyDep) -> JSONResponse:
    """Public: the signed assertion of the ECP envelope is the credential; the identity
    provider is the one whose remote ids name the assertion's issuer."""
    idp_id = saml2.idp_for_issuer(deps, saml2.issuer_of(document))
    issued = federated_auth.issue_saml2(
        deps, idp_id, PROTOCOL, document, auth_url(request, idp_id, PROTOCOL)
    )
    return JSONResponse(
        render_token(issued.token), status_code=201, headers={"X-Subject-Token": issued.id}
    )
