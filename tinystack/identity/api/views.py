"""Rendering of identity's records as Keystone's JSON bodies (links, collections)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from starlette.requests import Request

from tinystack.common.auth.revocation import MATCH_FIELDS, WIRE_NAMES, RevocationEvent
from tinystack.common.auth.tokens import TokenPayload
from tinystack.common.timeutils import from_timestamp, isotime_micro, isotime_plain
from tinystack.identity.services.credentials import Credential
from tinystack.identity.services.ec2_credentials import Ec2Credential
from tinystack.identity.services.endpoint_filters import EndpointGroup
from tinystack.identity.services.grants import SYSTEM
from tinystack.identity.services.oauth1 import AccessToken, Consumer
from tinystack.identity.services.policies import Policy
from tinystack.identity.services.records import (
    AccessRule,
    ApplicationCredential,
    CatalogService,
    Domain,
    Endpoint,
    Group,
    NameRef,
    Project,
    Region,
    Role,
    RoleInference,
    Service,
    Token,
    User,
)
from tinystack.identity.services.role_assignments import Names, Row
from tinystack.identity.services.trusts import Trust

T = TypeVar("T")


def base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def link(request: Request, path: str) -> dict[str, str]:
    return {"self": f"{base_url(request)}{path}"}


def collection(
    request: Request, key: str, items: Iterable[T], render: Callable[[Request, T], dict[str, Any]]
) -> dict[str, Any]:
    """A list body; beyond ``[identity] list_limit`` entries it is cut, with
    ``"truncated": true``, as upstream."""
    found = list(items)
    limit: int | None = request.app.state.identity.opts.list_limit
    truncated = limit is not None and len(found) > limit
    if truncated:
        found = found[:limit]
    body: dict[str, Any] = {
        key: [render(request, item) for item in found],
        "links": {"self": str(request.url), "previous": None, "next": None},
    }
    if truncated:
        body["truncated"] = True
    return body


def render_user(request: Request, u: User) -> dict[str, Any]:
    body = {
        **u.extra,
        "id": u.id,
        "name": u.name,
        "domain_id": u.domain_id,
        "enabled": u.enabled,
        "password_expires_at": (
            isotime_micro(u.password_expires_at) if u.password_expires_at else None
        ),
        "options": dict(u.options),
        "links": link(request, f"/v3/users/{u.id}"),
    }
    if u.default_project_id:
        body["default_project_id"] = u.default_project_id
    if u.description is not None:
        body["description"] = u.description
    return body


def render_group(request: Request, g: Group) -> dict[str, Any]:
    return {
        **g.extra,
        "id": g.id,
        "name": g.name,
        "domain_id": g.domain_id,
        "description": g.description or "",
        "links": link(request, f"/v3/groups/{g.id}"),
    }


def render_project(request: Request, p: Project) -> dict[str, Any]:
    return {
        **p.extra,
        "id": p.id,
        "name": p.name,
        "domain_id": None if p.is_domain else p.domain_id,
        "parent_id": None if p.is_domain else p.parent_id or p.domain_id,
        "description": p.description or "",
        "enabled": p.enabled,
        "is_domain": p.is_domain,
        "tags": list(p.tags),
        "options": {},
        "links": link(request, f"/v3/projects/{p.id}"),
    }


def render_domain(request: Request, d: Domain) -> dict[str, Any]:
    return {
        **d.extra,
        "id": d.id,
        "name": d.name,
        "description": d.description or "",
        "enabled": d.enabled,
        "tags": list(d.tags),
        "options": {},
        "links": link(request, f"/v3/domains/{d.id}"),
    }


def render_role(request: Request, r: Role) -> dict[str, Any]:
    return {
        **r.extra,
        "id": r.id,
        "name": r.name,
        "domain_id": r.domain_id,
        "description": r.description,
        "options": dict(r.options),
        "links": link(request, f"/v3/roles/{r.id}"),
    }


def role_ref(request: Request, r: Role) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "links": link(request, f"/v3/roles/{r.id}")}


def render_application_credential(request: Request, c: ApplicationCredential) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "user_id": c.user_id,
        "project_id": c.project_id,
        "expires_at": isotime_plain(c.expires_at) if c.expires_at else None,
        "unrestricted": c.unrestricted,
        "system": None,
        "roles": [{"id": r.id, "name": r.name, "domain_id": r.domain_id} for r in c.roles],
        "access_rules": [
            {"id": r.id, "service": r.service, "path": r.path, "method": r.method}
            for r in c.access_rules
        ],
        "links": link(request, f"/v3/users/{c.user_id}/application_credentials/{c.id}"),
    }


def render_access_rule(request: Request, user_id: str, r: AccessRule) -> dict[str, Any]:
    return {
        "id": r.id,
        "service": r.service,
        "path": r.path,
        "method": r.method,
        "links": link(request, f"/v3/users/{user_id}/access_rules/{r.id}"),
    }


def render_region(request: Request, r: Region) -> dict[str, Any]:
    return {
        **r.extra,
        "id": r.id,
        "description": r.description,
        "parent_region_id": r.parent_region_id,
        "links": link(request, f"/v3/regions/{r.id}"),
    }


def render_service(request: Request, s: Service) -> dict[str, Any]:
    body = {
        **s.extra,
        "id": s.id,
        "type": s.type,
        "enabled": s.enabled,
        "links": link(request, f"/v3/services/{s.id}"),
    }
    if s.name is not None:
        body["name"] = s.name
    if s.description is not None:
        body["description"] = s.description
    return body


def render_endpoint(request: Request, e: Endpoint) -> dict[str, Any]:
    return {
        **e.extra,
        "id": e.id,
        "service_id": e.service_id,
        "interface": e.interface,
        "url": e.url,
        "region_id": e.region_id,
        "region": e.region_id,
        "enabled": e.enabled,
        "links": link(request, f"/v3/endpoints/{e.id}"),
    }


def render_inference(request: Request, inference: RoleInference) -> dict[str, Any]:
    return {
        "prior_role": role_ref(request, inference.prior),
        "implies": [role_ref(request, r) for r in inference.implies],
    }


# -- tokens -----------------------------------------------------------------------------------


def _named(ref: NameRef) -> dict[str, Any]:
    return {
        "id": ref.id,
        "name": ref.name,
        "domain": {"id": ref.domain_id, "name": ref.domain_name},
    }


def render_catalog(catalog: Iterable[CatalogService]) -> list[dict[str, Any]]:
    return [
        {
            "endpoints": [
                {
                    "id": ep.id,
                    "interface": ep.interface,
                    "region": ep.region_id,
                    "region_id": ep.region_id,
                    "url": ep.url,
                }
                for ep in service.endpoints
            ],
            "id": service.id,
            "type": service.type,
            "name": service.name,
        }
        for service in catalog
    ]


def render_token(token: Token) -> dict[str, Any]:
    payload = token.payload
    body: dict[str, Any] = {
        "methods": list(payload.methods),
        "user": {
            **_named(token.user),
            "password_expires_at": (
                isotime_micro(token.user.password_expires_at)
                if token.user.password_expires_at
                else None
            ),
        },
        "audit_ids": list(payload.audit_ids),
        "expires_at": isotime_micro(from_timestamp(payload.expires_at)),
        "issued_at": isotime_micro(from_timestamp(payload.issued_at)),
    }
    if payload.federated is not None:
        fed = payload.federated
        body["user"]["OS-FEDERATION"] = {
            "identity_provider": {"id": fed.idp_id},
            "protocol": {"id": fed.protocol_id},
            "groups": [{"id": group_id} for group_id in fed.group_ids],
        }
    if token.project is not None:
        body["project"] = _named(token.project)
        body["is_domain"] = False
    elif token.domain is not None:
        body["domain"] = {"id": token.domain.id, "name": token.domain.name}
    elif payload.system:
        body["system"] = {"all": True}
    if payload.scoped:
        body["roles"] = [{"id": rid, "name": name} for rid, name in payload.roles]
        if token.catalog is not None:
            body["catalog"] = render_catalog(token.catalog)
        if token.service_providers:
            body["service_providers"] = [
                {"id": sp.id, "auth_url": sp.auth_url, "sp_url": sp.sp_url}
                for sp in token.service_providers
            ]
    if token.application_credential is not None:
        cred = token.application_credential
        body["application_credential"] = {
            "id": cred.id,
            "restricted": cred.restricted,
            "name": cred.name,
        }
        if payload.access_rules is not None:
            body["application_credential"]["access_rules"] = [
                {"service": r.service, "method": r.method, "path": r.path}
                for r in payload.access_rules
            ]
    _render_delegation(payload, body)
    return {"token": body}


def _render_delegation(payload: TokenPayload, body: dict[str, Any]) -> None:
    """The ``OS-TRUST:trust`` and ``OS-OAUTH1`` sections of a delegated token."""
    if payload.trust is not None:
        trust = payload.trust
        body.pop("is_domain", None)
        body["OS-TRUST:trust"] = {
            "id": trust.id,
            "trustor_user": {"id": trust.trustor_id},
            "trustee_user": {"id": trust.trustee_id},
            "impersonation": trust.impersonation,
        }
    if payload.oauth is not None:
        body["OS-OAUTH1"] = {
            "access_token_id": payload.oauth.access_token_id,
            "consumer_id": payload.oauth.consumer_id,
        }


def render_revocation_event(event: RevocationEvent) -> dict[str, Any]:
    body: dict[str, Any] = {
        "issued_before": isotime_micro(from_timestamp(event.issued_before)),
        "revoked_at": isotime_micro(from_timestamp(event.revoked_at)),
    }
    for name in MATCH_FIELDS:
        value = getattr(event, name)
        if value is not None:
            body[WIRE_NAMES.get(name, name)] = value
    return body


# -- role assignments -------------------------------------------------------------------------


def render_assignment(row: Row, names: Names | None, base: str) -> dict[str, Any]:
    def ref(kind: str, obj_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": obj_id}
        if names is not None and (kind, obj_id) in names.refs:
            name, domain_id = names.refs[(kind, obj_id)]
            out["name"] = name
            if domain_id is not None or kind in ("user", "group", "project"):
                domain_name = names.domains.get(domain_id) if domain_id is not None else None
                out["domain"] = {"id": domain_id, "name": domain_name}
        return out

    scope: dict[str, Any]
    if row.target == "system" or row.target_id == SYSTEM:
        scope = {"system": {"all": True}}
    else:
        scope = {row.target: ref(row.target, row.target_id)}
    if row.inherited or row.inherited_from:
        scope["OS-INHERIT:inherited_to"] = "projects"
    body: dict[str, Any] = {
        "role": ref("role", row.role_id),
        "scope": scope,
        row.actor: ref(row.actor, row.actor_id),
    }
    src_target, src_id = row.inherited_from or (row.target, row.target_id)
    actor = ("groups", row.via_group) if row.via_group else (row.actor + "s", row.actor_id)
    role = row.prior_role or row.role_id
    prefix = "/v3/OS-INHERIT" if row.inherited_from or row.inherited else "/v3"
    if src_target == "system":
        path = f"/v3/system/{actor[0]}/{actor[1]}/roles/{role}"
    else:
        path = f"{prefix}/{src_target}s/{src_id}/{actor[0]}/{actor[1]}/roles/{role}"
        if row.inherited_from or row.inherited:
            path += "/inherited_to_projects"
    links = {"assignment": base + path}
    if row.via_group:
        links["membership"] = f"{base}/v3/groups/{row.via_group}/users/{row.actor_id}"
    if row.prior_role:
        # Upstream's link names the implied role first (sic).
        links["prior_role"] = f"{base}/v3/prior_role/{row.role_id}/implies/{row.prior_role}"
    body["links"] = links
    return body


# -- trusts -----------------------------------------------------------------------------------


def render_trust(request: Request, t: Trust, *, with_roles: bool = True) -> dict[str, Any]:
    path = f"/v3/OS-TRUST/trusts/{t.id}"
    body: dict[str, Any] = {
        **t.extra,
        "id": t.id,
        "trustor_user_id": t.trustor_user_id,
        "trustee_user_id": t.trustee_user_id,
        "project_id": t.project_id,
        "impersonation": t.impersonation,
        "expires_at": isotime_micro(t.expires_at) if t.expires_at else None,
        "remaining_uses": t.remaining_uses,
        "redelegated_trust_id": t.redelegated_trust_id,
        "redelegation_count": t.redelegation_count,
        "deleted_at": None,
        "links": link(request, path),
    }
    if with_roles:
        body["roles"] = [render_role(request, r) for r in t.roles]
        body["roles_links"] = {
            "self": f"{base_url(request)}{path}/roles",
            "previous": None,
            "next": None,
        }
    return body


# -- credentials ------------------------------------------------------------------------------


def render_credential(request: Request, c: Credential) -> dict[str, Any]:
    return {
        **c.extra,
        "id": c.id,
        "user_id": c.user_id,
        "project_id": c.project_id,
        "type": c.type,
        "blob": c.blob,
        "links": link(request, f"/v3/credentials/{c.id}"),
    }


def render_ec2_credential(request: Request, c: Ec2Credential) -> dict[str, Any]:
    return {
        "user_id": c.user_id,
        "tenant_id": c.tenant_id,
        "access": c.access,
        "secret": c.secret,
        "trust_id": c.trust_id,
        "links": link(request, f"/v3/users/{c.user_id}/credentials/OS-EC2/{c.access}"),
    }


# -- OAuth1 -----------------------------------------------------------------------------------


def render_consumer(request: Request, c: Consumer) -> dict[str, Any]:
    return {
        **c.extra,
        "id": c.id,
        "description": c.description,
        "links": link(request, f"/v3/OS-OAUTH1/consumers/{c.id}"),
    }


def render_access_token(request: Request, t: AccessToken) -> dict[str, Any]:
    path = f"/v3/users/{t.authorizing_user_id}/OS-OAUTH1/access_tokens/{t.id}"
    return {
        "id": t.id,
        "consumer_id": t.consumer_id,
        "authorizing_user_id": t.authorizing_user_id,
        "project_id": t.project_id,
        "expires_at": isotime_micro(t.expires_at) if t.expires_at else None,
        "links": {
            "self": f"{base_url(request)}{path}",
            "roles": f"{base_url(request)}{path}/roles",
        },
    }


# -- endpoint filters and policies ------------------------------------------------------------


def render_endpoint_group(request: Request, g: EndpointGroup) -> dict[str, Any]:
    return {
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "filters": dict(g.filters),
        "links": link(request, f"/v3/OS-EP-FILTER/endpoint_groups/{g.id}"),
    }


def render_policy(request: Request, p: Policy) -> dict[str, Any]:
    return {
        **p.extra,
        "id": p.id,
        "type": p.type,
        "blob": p.blob,
        "links": link(request, f"/v3/policies/{p.id}"),
    }
