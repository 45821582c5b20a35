"""Authentication (password, token, application_credential, oauth1), scoping (project,
domain, system, trust) and token rendering."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.tokens import FederatedScope, TokenPayload
from tinystack.common.exceptions import Forbidden, NotFound, Unauthorized, ValidationError
from tinystack.common.timeutils import utcnow
from tinystack.identity import models
from tinystack.identity.exception import AuthFailed
from tinystack.identity.services import (
    access_rules,
    catalog,
    compliance,
    directory,
    grants,
    mfa,
    oauth1,
    passwords,
    revoke,
    trusts,
)
from tinystack.identity.services.access import enforce
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import (
    AppCredRef,
    IssuedToken,
    JSONObject,
    NameRef,
    SpRef,
    Token,
)

METHODS = ("password", "token", "application_credential", "oauth1", "totp")
TRUST_SCOPE = "OS-TRUST:trust"


@dataclass
class Identity:
    """Who authenticated, before scoping."""

    user_id: str
    methods: tuple[str, ...]
    expires_at: float | None = None
    audit_chain: str | None = None
    app_cred: models.ApplicationCredential | None = None
    #: the application credential a rescoped token came from
    app_cred_id: str | None = None
    #: a federated user's identity provider, protocol and mapped groups
    federated: FederatedScope | None = None
    #: the access token of an oauth1 authentication (which fixes the scope)
    oauth: oauth1.OAuthGrant | None = None


def _domain_ref(session: Session, ref: dict[str, Any]) -> models.Domain:
    if "id" in ref:
        domain = session.get(models.Domain, ref["id"])
    elif "name" in ref:
        domain = session.scalars(
            select(models.Domain).where(models.Domain.name == ref["name"])
        ).first()
    else:
        raise ValidationError("A domain reference needs an id or a name.")
    if domain is None:
        raise AuthFailed()
    return domain


def _user_ref(session: Session, ref: dict[str, Any]) -> models.User:
    if not isinstance(ref, dict):
        raise ValidationError("user must be an object")
    if "id" in ref:
        user = session.get(models.User, ref["id"])
    elif "name" in ref:
        if not isinstance(ref.get("domain"), dict):
            raise ValidationError("A user name needs a domain id or name.")
        domain = _domain_ref(session, ref["domain"])
        query = select(models.User).where(
            models.User.name == ref["name"], models.User.domain_id == domain.id
        )
        user = session.scalars(query).first()
    else:
        raise ValidationError("A user reference needs an id or a name.")
    if user is None:
        raise AuthFailed()
    return user


def _check_user_enabled(session: Session, user: models.User) -> None:
    domain = session.get(models.Domain, user.domain_id)
    if not user.enabled or domain is None or not domain.enabled:
        raise AuthFailed()


def _password_user(deps: Deps, data: Any) -> str:
    """The ``password`` method for a SQL user: its id once the password checks out with
    ``[security_compliance]``'s lockout, inactivity and expiry rules."""
    if not isinstance(data, dict) or "user" not in data:
        raise ValidationError("password auth requires a user")
    password = data["user"].get("password") if isinstance(data["user"], dict) else None
    with deps.db.reader() as session:
        user_id = _user_ref(session, data["user"]).id
    if not isinstance(password, str):
        raise ValidationError("password must be a string")
    compliance.verify_password(deps, user_id, password, allow_expired=False)
    return user_id


def _application_credential(session: Session, data: dict[str, Any]) -> Identity:
    if not isinstance(data, dict) or not isinstance(data.get("secret"), str):
        raise ValidationError("application_credential requires a secret")
    if "id" in data:
        cred = session.get(models.ApplicationCredential, data["id"])
    elif "name" in data and isinstance(data.get("user"), dict):
        user = _user_ref(session, data["user"])
        query = select(models.ApplicationCredential).where(
            models.ApplicationCredential.name == data["name"],
            models.ApplicationCredential.user_id == user.id,
        )
        cred = session.scalars(query).first()
    else:
        raise ValidationError("application_credential requires an id, or a name and a user")
    if cred is None or not passwords.check_password(data["secret"], cred.secret_hash):
        raise AuthFailed()
    if cred.expires_at is not None and cred.expires_at < utcnow():
        raise AuthFailed()
    owner = session.get(models.User, cred.user_id)
    if owner is None:
        raise AuthFailed()
    _check_user_enabled(session, owner)
    expires = cred.expires_at.timestamp() if cred.expires_at else None
    return Identity(
        user_id=owner.id, methods=("application_credential",), expires_at=expires, app_cred=cred
    )


def _token(deps: Deps, data: dict[str, Any], scope: Any) -> Identity:
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise ValidationError("token auth requires an id")
    try:
        payload = deps.codec.decode(data["id"])
    except NotFound:
        raise AuthFailed() from None
    if deps.revocations.is_revoked(payload):
        # as upstream: a revoked token is not found (404), not an authentication failure
        raise NotFound(f"Could not find token: {data['id']}.")
    wants_scope = isinstance(scope, dict) and bool(
        {"project", "domain", "system", TRUST_SCOPE} & set(scope)
    )
    if payload.system and isinstance(scope, dict) and {"project", "domain"} & set(scope):
        raise Forbidden(
            "Using a system-scoped token to create a project-scoped or domain-scoped "
            "token is not allowed."
        )
    if payload.app_cred_id and wants_scope:
        raise Forbidden(
            "Using an application credential token to create a scoped token is not allowed."
        )
    if payload.oauth is not None:
        raise Forbidden(
            "Using OAuth-scoped token to create another token. "
            "Create a new OAuth-scoped token instead"
        )
    if payload.trust is not None:
        raise Forbidden(
            "Using trust-scoped token to create another token. "
            "Create a new trust-scoped token instead"
        )
    return Identity(
        user_id=payload.user_id,
        methods=tuple(dict.fromkeys([*payload.methods, "token"])),
        expires_at=payload.expires_at,
        audit_chain=payload.audit_chain_id,
        app_cred_id=payload.app_cred_id,
        federated=payload.federated,
    )


def _project_ref(session: Session, ref: dict[str, Any]) -> models.Project:
    if not isinstance(ref, dict):
        raise ValidationError("project scope must be an object")
    if "id" in ref:
        project = session.get(models.Project, ref["id"])
    elif "name" in ref and isinstance(ref.get("domain"), dict):
        domain = _domain_ref(session, ref["domain"])
        query = select(models.Project).where(
            models.Project.name == ref["name"], models.Project.domain_id == domain.id
        )
        project = session.scalars(query).first()
    else:
        raise ValidationError("A project scope needs an id, or a name and a domain.")
    if project is None:
        raise AuthFailed()
    owner = session.get(models.Domain, project.domain_id)
    if not project.enabled or owner is None or not owner.enabled:
        raise AuthFailed()
    return project


@dataclass(frozen=True, slots=True)
class _Scope:
    """What a new token is scoped to: at most one of a project, a domain, the system."""

    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False

    def __bool__(self) -> bool:
        return bool(self.project_id or self.domain_id or self.system)


def _is_unscoped(scope: Any) -> bool:
    # Old keystoneauth sends {"unscoped": {}} instead of "unscoped".
    return scope == "unscoped" or (isinstance(scope, dict) and set(scope) == {"unscoped"})


def _app_cred_scope(ident: Identity, scope: Any) -> _Scope:
    assert ident.app_cred is not None
    project_id = ident.app_cred.project_id
    if scope is not None and not _is_unscoped(scope):
        ref = scope.get("project") if isinstance(scope, dict) else None
        if set(scope) != {"project"} or not isinstance(ref, dict) or ref.get("id") != project_id:
            raise Unauthorized("Application credentials cannot request a scope.")
    return _Scope(project_id=project_id)


def _scope(session: Session, ident: Identity, scope: Any) -> _Scope:
    """Resolve the requested scope to project_id/domain_id/system."""
    user = session.get(models.User, ident.user_id)
    assert user is not None
    if ident.app_cred is not None:
        return _app_cred_scope(ident, scope)
    if scope is None:
        default = user.default_project_id
        if default and grants.effective_role_ids(session, user.id, project_id=default):
            project = session.get(models.Project, default)
            domain = session.get(models.Domain, project.domain_id) if project else None
            if project is not None and project.enabled and domain is not None and domain.enabled:
                return _Scope(project_id=default)
        return _Scope()
    if _is_unscoped(scope):
        return _Scope()
    if not isinstance(scope, dict) or len(scope) != 1:
        raise ValidationError("scope must name exactly one of project, domain or system")
    ((kind, ref),) = scope.items()
    if kind == "project":
        return _Scope(project_id=_project_ref(session, ref).id)
    if kind == "domain":
        if not isinstance(ref, dict):
            raise ValidationError("domain scope must be an object")
        domain = _domain_ref(session, ref)
        if not domain.enabled:
            raise AuthFailed()
        return _Scope(domain_id=domain.id)
    if kind == "system":
        if ref != {"all": True}:
            raise ValidationError('system scope must be {"all": true}')
        return _Scope(system=True)
    raise ValidationError(f"Unknown scope {kind}")


def _roles(session: Session, ident: Identity, scope: _Scope) -> tuple[tuple[str, str], ...]:
    if not scope:
        return ()
    role_ids = grants.effective_role_ids(
        session,
        ident.user_id,
        project_id=scope.project_id,
        domain_id=scope.domain_id,
        system=scope.system,
        extra_group_ids=ident.federated.group_ids if ident.federated else (),
    )
    if ident.app_cred is not None and not ident.app_cred.unrestricted:
        granted = {r["id"] for r in ident.app_cred.roles}
        role_ids &= granted
    if not role_ids:
        raise AuthFailed()
    return tuple(grants.role_pairs(session, role_ids))


def _trust_id(scope: Any) -> str | None:
    """The trust an ``OS-TRUST:trust`` scope names (alone, as every scope must be)."""
    if not isinstance(scope, dict) or TRUST_SCOPE not in scope:
        return None
    ref = scope[TRUST_SCOPE]
    if len(scope) != 1:
        raise ValidationError("scope must name exactly one of project, domain or system")
    if not isinstance(ref, dict) or not isinstance(ref.get("id"), str) or not ref["id"]:
        raise ValidationError("Expecting to find trust_id in trust.")
    return str(ref["id"])


def _identify(
    deps: Deps,
    session: Session,
    identity: dict[str, Any],
    methods: list[str],
    ident: Identity | None,
    signed: oauth1.SignedRequest | None,
    password_user: str | None = None,
) -> Identity:
    """Run the methods other than ``token``; every one must find the same user
    (``password_user``: the user the password method already authenticated)."""
    if "password" in methods:
        assert password_user is not None
        found = Identity(user_id=password_user, methods=("password",))
        if ident is not None and ident.user_id != found.user_id:
            raise AuthFailed()
        ident = ident or found
        ident.methods = tuple(dict.fromkeys([*ident.methods, "password"]))
    if "totp" in methods:
        totp_user = mfa.totp_user(deps, session, identity["totp"])
        if ident is not None and ident.user_id != totp_user:
            raise AuthFailed()
        ident = ident or Identity(user_id=totp_user, methods=())
        ident.methods = tuple(dict.fromkeys([*ident.methods, "totp"]))
    if "application_credential" in methods:
        cred_ident = _application_credential(session, identity["application_credential"])
        if ident is not None and ident.user_id != cred_ident.user_id:
            raise AuthFailed()
        ident = cred_ident
    if "oauth1" in methods:
        if signed is None:
            raise ValidationError("oauth1 authentication needs a signed request")
        grant = oauth1.grant_for(session, signed)
        if ident is not None and ident.user_id != grant.user_id:
            raise AuthFailed()
        ident = ident or Identity(user_id=grant.user_id, methods=())
        ident.methods = tuple(dict.fromkeys([*ident.methods, "oauth1"]))
        ident.oauth = grant
    assert ident is not None
    if ident.app_cred_id and ident.app_cred is None:
        ident.app_cred = session.get(models.ApplicationCredential, ident.app_cred_id)
        if ident.app_cred is None:
            raise AuthFailed()
    return ident


def _delegated_payload(
    deps: Deps, session: Session, ident: Identity, trust_id: str | None, now: float
) -> TokenPayload | None:
    """The payload of an OAuth-scoped or trust-scoped token; None for any other."""
    grant: oauth1.OAuthGrant | trusts.TrustGrant
    if trust_id is not None and ident.app_cred is not None:
        raise Unauthorized("Application credentials cannot request a scope.")
    if ident.oauth is not None:
        grant = ident.oauth
    elif trust_id is not None:
        grant = trusts.grant_for(deps, session, ident.user_id, trust_id)
    else:
        return None
    project = session.get(models.Project, grant.project_id) if grant.project_id else None
    expires = now + deps.opts.token_expiration
    for end in (ident.expires_at, grant.expires_at):
        if end is not None:
            expires = min(expires, end)
    return TokenPayload(
        user_id=grant.user_id,
        methods=ident.methods,
        expires_at=expires,
        issued_at=now,
        roles=grant.roles,
        project_id=grant.project_id,
        project_domain_id=project.domain_id if project else None,
        trust=grant.trust if isinstance(grant, trusts.TrustGrant) else None,
        oauth=grant.oauth if isinstance(grant, oauth1.OAuthGrant) else None,
    )


def authenticate(
    deps: Deps,
    body: JSONObject,
    signed: oauth1.SignedRequest | None = None,
    receipt_id: str | None = None,
) -> TokenPayload:
    """Validate an ``auth`` request body (and, for oauth1, the signed request) and return
    the payload of a new token."""
    # The body is checked here, key by key, with upstream's messages.
    auth: dict[str, Any] = dict(body)
    identity = auth.get("identity")
    if not isinstance(identity, dict) or not isinstance(identity.get("methods"), list):
        raise ValidationError("'identity' with a list of 'methods' is required")
    methods = identity["methods"]
    if not methods or any(m not in METHODS for m in methods):
        raise Unauthorized("Attempted to authenticate with an unsupported method.")
    for method in methods:
        if method not in identity:
            raise ValidationError(f"'{method}' is required by the listed methods")
    # The token method is checked without the database.
    scope = auth.get("scope")
    trust_id = _trust_id(scope)
    ident = _token(deps, identity["token"], scope) if "token" in methods else None
    now = time.time()
    # A user of a directory (LDAP) domain binds to its directory first.
    password_user = None
    if "password" in methods:
        password_user = directory.password_user(deps, identity["password"]) or _password_user(
            deps, identity["password"]
        )
    with deps.db.reader() as session:
        ident = _identify(deps, session, identity, methods, ident, signed, password_user)
        user = session.get(models.User, ident.user_id)
        if user is None:
            raise AuthFailed()
        _check_user_enabled(session, user)
        # Multi-factor rules: the methods done (with an auth receipt's) must satisfy one.
        receipt = mfa.decode(deps, receipt_id) if receipt_id else None
        ident.methods = mfa.enforce(deps, session, user.id, ident.methods, receipt, METHODS)
        delegated = _delegated_payload(deps, session, ident, trust_id, now)
        if delegated is None:
            token_scope = _scope(session, ident, scope)
            token_roles = _roles(session, ident, token_scope)
            project_domain_id = None
            if token_scope.project_id:
                project = session.get(models.Project, token_scope.project_id)
                project_domain_id = project.domain_id if project else None
            rules = access_rules.for_token(ident.app_cred) if ident.app_cred else None
    if delegated is not None:
        payload = delegated
        if payload.trust is not None:
            trusts.consume_use(deps, payload.trust.id)
    else:
        expires = now + deps.opts.token_expiration
        if ident.expires_at is not None:
            expires = min(expires, ident.expires_at)
        payload = TokenPayload(
            user_id=ident.user_id,
            methods=ident.methods,
            expires_at=expires,
            issued_at=now,
            roles=token_roles,
            app_cred_id=ident.app_cred.id if ident.app_cred else None,
            project_id=token_scope.project_id,
            domain_id=token_scope.domain_id,
            system=token_scope.system,
            project_domain_id=project_domain_id,
            access_rules=rules,
            federated=ident.federated,
        )
    if ident.audit_chain:
        payload = replace(payload, audit_ids=(payload.audit_id, ident.audit_chain))
    return payload


def issue(
    deps: Deps,
    body: JSONObject,
    *,
    with_catalog: bool,
    signed: oauth1.SignedRequest | None = None,
    receipt_id: str | None = None,
) -> IssuedToken:
    """Authenticate an ``auth`` request body; a new token and what it shows (with
    ``receipt_id``, an auth receipt's methods count as done)."""
    payload = authenticate(deps, body, signed, receipt_id)
    return IssuedToken(id=deps.codec.encode(payload), token=describe(deps, payload, with_catalog))


def authorized(
    deps: Deps, ctx: RequestContext, rule: str, token: str | None, *, allow_expired: bool
) -> TokenPayload:
    """Decode the subject token of ``/v3/auth/tokens`` (404 when it is not valid) and
    enforce ``rule`` on it (403)."""
    if not token:
        raise NotFound("Could not find token: X-Subject-Token is missing.")
    window = deps.opts.allow_expired_window if allow_expired else 0
    payload = deps.codec.decode(token, allow_expired_window=window)
    if deps.revocations.is_revoked(payload):
        raise NotFound("Could not recognize Fernet token")
    enforce(ctx, rule, {"target": {"token": {"user_id": payload.user_id}}})
    return payload


def validate(
    deps: Deps, ctx: RequestContext, token: str | None, *, allow_expired: bool, with_catalog: bool
) -> Token:
    payload = authorized(deps, ctx, "identity:validate_token", token, allow_expired=allow_expired)
    return describe(deps, payload, with_catalog)


def check(deps: Deps, ctx: RequestContext, token: str | None, *, allow_expired: bool) -> None:
    authorized(deps, ctx, "identity:check_token", token, allow_expired=allow_expired)


def revoke_token(
    deps: Deps, ctx: RequestContext, token: str | None, *, allow_expired: bool
) -> None:
    payload = authorized(deps, ctx, "identity:revoke_token", token, allow_expired=allow_expired)
    revoke.revoke(deps, audit_id=payload.audit_id)


# -- what a token shows ----------------------------------------------------------------------


def _user_names(deps: Deps, user_id: str) -> NameRef:
    cached = deps.names.get(("user", user_id))
    if cached is not None:
        return cached
    with deps.db.reader() as session:
        user = session.get(models.User, user_id)
        if user is None:
            raise NotFound(f"Could not find user: {user_id}.")
        domain = session.get(models.Domain, user.domain_id)
        ref = NameRef(
            id=user.id,
            name=user.name,
            domain_id=user.domain_id,
            domain_name=domain.name if domain else None,
            password_expires_at=user.password_expires_at,
        )
    deps.names.put(("user", user_id), ref)
    return ref


def _project_names(deps: Deps, project_id: str) -> NameRef:
    cached = deps.names.get(("project", project_id))
    if cached is not None:
        return cached
    with deps.db.reader() as session:
        project = session.get(models.Project, project_id)
        if project is None:
            raise NotFound(f"Could not find project: {project_id}.")
        domain = session.get(models.Domain, project.domain_id)
        ref = NameRef(
            id=project.id,
            name=project.name,
            domain_id=project.domain_id,
            domain_name=domain.name if domain else None,
        )
    deps.names.put(("project", project_id), ref)
    return ref


def _domain_names(deps: Deps, domain_id: str) -> NameRef:
    cached = deps.names.get(("domain", domain_id))
    if cached is not None:
        return cached
    with deps.db.reader() as session:
        domain = session.get(models.Domain, domain_id)
        if domain is None:
            raise NotFound(f"Could not find domain: {domain_id}.")
        ref = NameRef(id=domain.id, name=domain.name)
    deps.names.put(("domain", domain_id), ref)
    return ref


def _app_cred_names(deps: Deps, app_cred_id: str) -> AppCredRef:
    cached = deps.app_creds.get(app_cred_id)
    if cached is not None:
        return cached
    with deps.db.reader() as session:
        cred = session.get(models.ApplicationCredential, app_cred_id)
        ref = AppCredRef(
            id=app_cred_id,
            name=cred.name if cred else "",
            restricted=not cred.unrestricted if cred else True,
        )
    deps.app_creds.put(app_cred_id, ref)
    return ref


def describe(deps: Deps, payload: TokenPayload, with_catalog: bool = True) -> Token:
    """A token's payload with the names it shows (cached: validation is the hot path)."""
    return Token(
        payload=payload,
        user=_user_names(deps, payload.user_id),
        project=_project_names(deps, payload.project_id) if payload.project_id else None,
        domain=(
            _domain_names(deps, payload.domain_id)
            if payload.domain_id and not payload.project_id
            else None
        ),
        catalog=(
            catalog.token_catalog(deps, payload.project_id)
            if payload.scoped and with_catalog
            else None
        ),
        application_credential=(
            _app_cred_names(deps, payload.app_cred_id) if payload.app_cred_id else None
        ),
        service_providers=_service_providers(deps) if payload.scoped and with_catalog else None,
    )


def _service_providers(deps: Deps) -> tuple[SpRef, ...]:
    with deps.db.reader() as session:
        rows = session.scalars(
            select(models.ServiceProvider)
            .where(models.ServiceProvider.enabled.is_(True))
            .order_by(models.ServiceProvider.id)
        ).all()
        return tuple(SpRef(id=r.id, auth_url=r.auth_url, sp_url=r.sp_url) for r in rows)
