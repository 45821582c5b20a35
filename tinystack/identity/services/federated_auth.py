"""Federated authentication (``/v3/OS-FEDERATION/identity_providers/{idp}/protocols/
{protocol}/auth``): an OpenID Connect bearer token, validated against the identity
provider's issuer, becomes an assertion; the protocol's mapping turns it into a user,
groups and projects; the answer is an unscoped token carrying ``OS-FEDERATION``.

Ephemeral users are shadow users in the identity provider's domain (``federated_user``
links them to the provider, protocol and unique id); the mapped groups travel in the
token (and count as memberships when it is rescoped); projects a schema 2.0 mapping
names are created in the domain with the roles it lists granted to the user. A
``local`` user of the mapping is an existing user, found by name and domain.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.tokens import FederatedScope, TokenPayload
from tinystack.common.exceptions import Conflict, Unauthorized, ValidationError
from tinystack.common.timeutils import new_hex_id, utcnow
from tinystack.identity import models
from tinystack.identity.exception import AuthFailed
from tinystack.identity.services import federation, mapping_rules, saml2, tokens
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.federation import AuthSetup
from tinystack.identity.services.records import IssuedToken


def _assertion(deps: Deps, setup: AuthSetup, claims: dict[str, Any]) -> dict[str, Any]:
    """The claims as the mapping sees them: by name and with the configured prefix;
    lists joined with ``;``."""
    prefix = deps.opts.oidc_claim_prefix
    out: dict[str, Any] = {}
    for name, value in claims.items():
        if isinstance(value, list):
            value = ";".join(str(v) for v in value)
        elif isinstance(value, dict):
            continue
        out[name] = value
        if prefix:
            out[prefix + name] = value
    if "sub" in claims:
        out.setdefault("REMOTE_USER", str(claims["sub"]))
    if setup.remote_id_attribute:
        out[setup.remote_id_attribute] = claims.get("iss")
    return out


def _domain_id(session: Session, ref: Any) -> str:
    if not isinstance(ref, dict):
        raise ValidationError("A mapped domain needs an id or a name.")
    if "id" in ref:
        row = session.get(models.Domain, ref["id"])
    else:
        row = session.scalars(
            select(models.Domain).where(models.Domain.name == ref.get("name"))
        ).first()
    if row is None:
        raise ValidationError(f"Could not find domain: {ref.get('id') or ref.get('name')}.")
    return row.id


def _group_ids(session: Session, mapped: mapping_rules.Mapped, mapping_id: str) -> tuple[str, ...]:
    found: list[str] = []
    for group_id in mapped.group_ids:
        if session.get(models.Group, group_id) is None:
            raise ValidationError(
                f"Group {group_id} returned by mapping {mapping_id} was not found in the backend."
            )
        found.append(group_id)
    for ref in mapped.group_names:
        domain_id = _domain_id(session, ref.get("domain"))
        group = session.scalars(
            select(models.Group).where(
                models.Group.name == ref.get("name"), models.Group.domain_id == domain_id
            )
        ).first()
        if group is None:
            raise ValidationError(
                f"Group {ref.get('name')} returned by mapping {mapping_id} was not found in the "
                "backend."
            )
        found.append(group.id)
    return tuple(dict.fromkeys(found))


def _shadow_user(session: Session, setup: AuthSetup, user: dict[str, Any]) -> models.User:
    name = user.get("name")
    raw_id = user.get("id") or name
    if not raw_id:
        raise AuthFailed(
            "Could not map user while setting ephemeral user identity. Either "
            "mapping rules must specify user id/name or REMOTE_USER environment "
            "variable must be set."
        )
    unique_id = quote(str(raw_id))
    display_name = str(name or raw_id)
    domain_id = setup.domain_id
    if setup.schema_version != "1.0" and isinstance(user.get("domain"), dict):
        domain_id = _domain_id(session, user["domain"])
    link = session.scalars(
        select(models.FederatedUser).where(
            models.FederatedUser.idp_id == setup.idp_id,
            models.FederatedUser.protocol_id == setup.protocol_id,
            models.FederatedUser.unique_id == unique_id,
        )
    ).first()
    extra = {"email": user["email"]} if user.get("email") else {}
    row = session.get(models.User, link.user_id) if link is not None else None
    if row is None:
        clash = session.scalars(
            select(models.User.id).where(
                models.User.domain_id == domain_id, models.User.name == display_name
            )
        ).first()
        if clash is not None:
            raise Conflict(
                f"Conflict occurred attempting to store federated user - Duplicate entry found "
                f"with name {display_name} at domain ID {domain_id}."
            )
        row = models.User(
            id=new_hex_id(),
            name=display_name,
            domain_id=domain_id,
            enabled=True,
            options={},
            extra=extra,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        session.add(
            models.FederatedUser(
                user_id=row.id,
                idp_id=setup.idp_id,
                protocol_id=setup.protocol_id,
                unique_id=unique_id,
                display_name=display_name,
            )
        )
    else:
        if row.name != display_name:
            row.name = display_name
            link_row = link
            assert link_row is not None
            link_row.display_name = display_name
        if extra and row.extra != {**row.extra, **extra}:
            row.extra = {**row.extra, **extra}
    if not row.enabled:
        raise AuthFailed()
    row.last_active_at = utcnow()
    return row


def _local_user(session: Session, user: dict[str, Any]) -> models.User:
    name = user.get("name")
    if not name or not isinstance(user.get("domain"), dict):
        raise ValidationError("A local user needs a name and a domain in the mapping.")
    domain_id = _domain_id(session, user["domain"])
    row = session.scalars(
        select(models.User).where(models.User.name == name, models.User.domain_id == domain_id)
    ).first()
    if row is None or not row.enabled:
        raise AuthFailed()
    return row


def _provision_projects(
    session: Session, setup: AuthSetup, user_id: str, projects: list[dict[str, Any]]
) -> None:
    for spec in projects:
        domain_id = setup.domain_id
        if isinstance(spec.get("domain"), dict):
            domain_id = _domain_id(session, spec["domain"])
        project = session.scalars(
            select(models.Project).where(
                models.Project.name == spec["name"], models.Project.domain_id == domain_id
            )
        ).first()
        if project is None:
            project = models.Project(
                id=new_hex_id(), name=spec["name"], domain_id=domain_id, enabled=True, extra={}
            )
            session.add(project)
            session.flush()
        for role_ref in spec.get("roles", []):
            role = session.scalars(
                select(models.Role).where(
                    models.Role.name == role_ref["name"], models.Role.domain_id.is_(None)
                )
            ).first()
            if role is None:
                raise ValidationError(f"Could not find role: {role_ref['name']}.")
            key = ("UserProject", user_id, project.id, role.id, False)
            if session.get(models.Assignment, key) is None:
                session.add(
                    models.Assignment(
                        type="UserProject",
                        actor_id=user_id,
                        target_id=project.id,
                        role_id=role.id,
                        inherited=False,
                    )
                )


def authenticate(deps: Deps, idp_id: str, protocol_id: str, bearer: str | None) -> TokenPayload:
    """The payload of an unscoped federated token for the bearer of an OIDC token."""
    setup = federation.auth_setup(deps, idp_id, protocol_id)
    if not bearer:
        raise Unauthorized("Could not find an OpenID Connect access token in the request.")
    claims = deps.oidc.claims(bearer, setup.remote_ids, deps.opts.oidc_audience)
    return _federated_payload(deps, setup, _assertion(deps, setup, claims))


def _saml_assertion(setup: AuthSetup, verified: saml2.VerifiedAssertion) -> dict[str, Any]:
    """The attributes as Shibboleth hands them on: multiple values joined with ``;``."""
    out: dict[str, Any] = {name: ";".join(values) for name, values in verified.attributes.items()}
    out.setdefault("REMOTE_USER", verified.name_id)
    if setup.remote_id_attribute:
        out[setup.remote_id_attribute] = verified.issuer
    return out


def authenticate_saml2(
    deps: Deps, idp_id: str, protocol_id: str, document: bytes, audience: str
) -> TokenPayload:
    """The payload of an unscoped federated token for a signed SAML 2.0 assertion (a
    Keystone-to-Keystone one) issued by one of the identity provider's remote ids."""
    setup = federation.auth_setup(deps, idp_id, protocol_id)
    verified = saml2.verify(deps, document, audience)
    if verified.issuer not in setup.remote_ids:
        raise Unauthorized(
            f"The SAML 2.0 issuer {verified.issuer} is not a remote id of identity provider "
            f"{idp_id}."
        )
    return _federated_payload(deps, setup, _saml_assertion(setup, verified))


def _federated_payload(deps: Deps, setup: AuthSetup, assertion: dict[str, Any]) -> TokenPayload:
    mapped = mapping_rules.evaluate(setup.rules, assertion)
    protocol_id = setup.protocol_id

    def tx(session: Session) -> tuple[str, tuple[str, ...], bool]:
        group_ids = _group_ids(session, mapped, setup.mapping_id)
        if mapped.user_type == mapping_rules.LOCAL:
            return _local_user(session, mapped.user).id, group_ids, False
        user = _shadow_user(session, setup, mapped.user)
        session.flush()
        if mapped.projects:
            _provision_projects(session, setup, user.id, mapped.projects)
        return user.id, group_ids, True

    user_id, group_ids, ephemeral = deps.db.write(tx)
    deps.clear_caches()
    now = time.time()
    return TokenPayload(
        user_id=user_id,
        methods=(protocol_id,),
        expires_at=now + deps.opts.token_expiration,
        issued_at=now,
        federated=FederatedScope(setup.idp_id, protocol_id, group_ids) if ephemeral else None,
    )


def issue(deps: Deps, idp_id: str, protocol_id: str, bearer: str | None) -> IssuedToken:
    payload = authenticate(deps, idp_id, protocol_id, bearer)
    return IssuedToken(id=deps.codec.encode(payload), token=tokens.describe(deps, payload, False))


def issue_saml2(
    deps: Deps, idp_id: str, protocol_id: str, document: bytes, audience: str
) -> IssuedToken:
    payload = authenticate_saml2(deps, idp_id, protocol_id, document, audience)
    return IssuedToken(id=deps.codec.encode(payload), token=tokens.describe(deps, payload, False))
