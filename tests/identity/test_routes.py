"""The route table: every route declares its policy rules and request body (routecheck),
and the rules a route declares are the rules its handler (or the service function it
hands the request context to) checks."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from tests.identity.conftest import Cloud
from tests.identity.policy_scan import checked_rules
from tests.routecheck import RouteRules, check, endpoints
from tinystack.common.api.openapi import POLICIES_KEY, PUBLIC_KEY
from tinystack.identity import policies

#: write routes that take no body, as upstream's
NO_BODY = {
    # the Keystone-to-Keystone ECP envelope (XML) is the credential
    ("POST", "/Shibboleth.sso/SAML2/ECP"),
    ("PUT", "/v3/projects/{project_id}/tags/{tag}"),
    ("PUT", "/v3/groups/{group_id}/users/{user_id}"),
    ("PUT", "/v3/roles/{prior_role_id}/implies/{implied_role_id}"),
    ("PUT", "/v3/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}"),
    (
        "PUT",
        "/v3/OS-INHERIT/{target}/{target_id}/{actor}/{actor_id}/roles/{role_id}"
        "/inherited_to_projects",
    ),
    ("PUT", "/v3/system/{actor}/{actor_id}/roles/{role_id}"),
    # federated authentication: the bearer token is the credential
    ("POST", "/v3/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/auth"),
    # OAuth1's signed requests carry their parameters in the Authorization header
    ("POST", "/v3/OS-OAUTH1/request_token"),
    ("POST", "/v3/OS-OAUTH1/access_token"),
    ("PUT", "/v3/OS-EP-FILTER/endpoint_groups/{endpoint_group_id}/projects/{project_id}"),
    ("PUT", "/v3/OS-EP-FILTER/projects/{project_id}/endpoints/{endpoint_id}"),
    ("PUT", "/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/endpoints/{endpoint_id}"),
    ("PUT", "/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}"),
    (
        "PUT",
        "/v3/policies/{policy_id}/OS-ENDPOINT-POLICY/services/{service_id}/regions/{region_id}",
    ),
}
#: what answers without a policy check, as upstream: version documents, token issue, and
#: the password change (the original password is the credential)
PUBLIC = {
    *((m, p) for m in ("GET", "HEAD") for p in ("/", "/v3", "/v3/")),
    ("POST", "/v3/auth/tokens"),
    ("POST", "/v3/users/{user_id}/password"),
    *(
        (m, "/v3/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/auth")
        for m in ("GET", "POST")
    ),
    ("POST", "/v3/OS-OAUTH1/request_token"),
    ("POST", "/v3/OS-OAUTH1/access_token"),
    # Keystone-to-Keystone: the token in the body (the IdP side), the signed assertion
    # (the SP side) are the credentials; the metadata is public, as upstream
    ("POST", "/v3/auth/OS-FEDERATION/saml2"),
    ("POST", "/v3/auth/OS-FEDERATION/saml2/ecp"),
    *((m, "/v3/OS-FEDERATION/saml2/metadata") for m in ("GET", "HEAD")),
    ("POST", "/Shibboleth.sso/SAML2/ECP"),
}


def _app(cloud: Cloud) -> Any:
    return cloud.client.app


def test_routecheck(cloud: Cloud) -> None:
    rules = frozenset(rule.name for rule in policies.list_rules())
    check(_app(cloud), RouteRules(rules=rules, bodiless=frozenset(NO_BODY)))


def test_declared_rules_are_thechecked_rules(cloud: Cloud) -> None:
    seen = 0
    for ep in endpoints(_app(cloud)):
        assert ep.endpoint is not None
        declared = set(ep.extra.get(POLICIES_KEY) or ())
        if ep.extra.get(PUBLIC_KEY):
            assert ep.route in PUBLIC, f"{ep} is declared public"
            assert not checked_rules(ep.endpoint)
            continue
        assert declared == checked_rules(ep.endpoint), ep
        seen += 1
    assert seen > 100


def test_every_route_is_in_the_table(cloud: Cloud) -> None:
    routes = [r for r in _app(cloud).routes if isinstance(r, APIRoute)]
    assert all(r.openapi_extra for r in routes)
    assert {(m, r.path) for r in routes for m in r.methods or ()} >= PUBLIC
