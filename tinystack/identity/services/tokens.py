"""Authentication (password, token, application_credential) and token rendering."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.tokens import TokenPayload
from tinystack.common.exceptions import Forbidden, NotFound, Unauthorized, ValidationError
from tinystack.common.timeutils import from_timestamp, isotime_micro, utcnow
from tinystack.identity import models
from tinystack.identity.services import assignments, catalog, passwords, revoke
from tinystack.identity.services.deps import Deps

AUTH_FAILED = "The request you have made requires authentication."
METHODS = ("password", "token", "application_credential")


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
        raise Unauthorized(AUTH_FAILED)
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
        raise Unauthorized(AUTH_FAILED)
    return user


def _check_user_enabled(session: Session, user: models.User) -> None:
    domain = session.get(models.Domain, user.domain_id)
    if not user.enabled or domain is None or not domain.enabled:
        raise Unauthorized(AUTH_FAILED)


def _password(session: Session, data: dict[str, Any]) -> Identity:
    if not isinstance(data, dict) or "user" not in data:
        raise ValidationError("password auth requires a user")
    user = _user_ref(session, data["user"])
    password = data["user"].get("password")
    if not isinstance(password, str):
        raise ValidationError("password must be a string")
    _check_user_enabled(session, user)
    if not passwords.check_password(password, user.password_hash):
        raise Unauthorized(AUTH_FAILED)
    if user.password_expires_at is not None and user.password_expires_at < utcnow():
        raise Unauthorized("The password is expired and needs to be changed for user.")
    return Identity(user_id=user.id, methods=("password",))


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
        raise Unauthorized(AUTH_FAILED)
    if cred.expires_at is not None and cred.expires_at < utcnow():
        raise Unauthorized(AUTH_FAILED)
    owner = session.get(models.User, cred.user_id)
    if owner is None:
        raise Unauthorized(AUTH_FAILED)
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
        raise Unauthorized(AUTH_FAILED) from None
    if deps.revocations.is_revoked(payload):
        raise Unauthorized(AUTH_FAILED)
    wants_scope = isinstance(scope, dict) and bool({"project", "domain", "system"} & set(scope))
    if payload.system and isinstance(scope, dict) and {"project", "domain"} & set(scope):
        raise Forbidden(
            "Using a system-scoped token to create a project-scoped or domain-scoped "
            "token is not allowed."
        )
    if payload.app_cred_id and wants_scope:
        raise Forbidden(
            "Using an application credential token to create a scoped token is not allowed."
        )
    return Identity(
        user_id=payload.user_id,
        methods=tuple(dict.fromkeys([*payload.methods, "token"])),
        expires_at=payload.expires_at,
        audit_chain=payload.audit_chain_id,
        app_cred_id=payload.app_cred_id,
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
        raise Unauthorized(AUTH_FAILED)
    owner = session.get(models.Domain, project.domain_id)
    if not project.enabled or owner is None or not owner.enabled:
        raise Unauthorized(AUTH_FAILED)
    return project


def _is_unscoped(scope: Any) -> bool:
    # Old keystoneauth sends {"unscoped": {}} instead of "unscoped".
    return scope == "unscoped" or (isinstance(scope, dict) and set(scope) == {"unscoped"})


def _app_cred_scope(ident: Identity, scope: Any) -> dict[str, Any]:
    assert ident.app_cred is not None
    project_id = ident.app_cred.project_id
    if scope is not None and not _is_unscoped(scope):
        ref = scope.get("project") if isinstance(scope, dict) else None
        if set(scope) != {"project"} or not isinstance(ref, dict) or ref.get("id") != project_id:
            raise Unauthorized("Application credentials cannot request a scope.")
    return {"project_id": project_id}


def _scope(session: Session, ident: Identity, scope: Any) -> dict[str, Any]:
    """Resolve the requested scope to project_id/domain_id/system."""
    user = session.get(models.User, ident.user_id)
    assert user is not None
    if ident.app_cred is not None:
        return _app_cred_scope(ident, scope)
    if scope is None:
        default = user.default_project_id
        if default and assignments.effective_role_ids(session, user.id, project_id=default):
            project = session.get(models.Project, default)
            domain = session.get(models.Domain, project.domain_id) if project else None
            if project is not None and project.enabled and domain is not None and domain.enabled:
                return {"project_id": default}
        return {}
    if _is_unscoped(scope):
        return {}
    if not isinstance(scope, dict) or len(scope) != 1:
        raise ValidationError("scope must name exactly one of project, domain or system")
    ((kind, ref),) = scope.items()
    if kind == "project":
        return {"project_id": _project_ref(session, ref).id}
    if kind == "domain":
        if not isinstance(ref, dict):
            raise ValidationError("domain scope must be an object")
        domain = _domain_ref(session, ref)
        if not domain.enabled:
            raise Unauthorized(AUTH_FAILED)
        return {"domain_id": domain.id}
    if kind == "system":
        if ref != {"all": True}:
            raise ValidationError('system scope must be {"all": true}')
        return {"system": True}
    if kind == "OS-TRUST:trust":
        raise Forbidden("Trusts are not supported.")
    raise ValidationError(f"Unknown scope {kind}")


def _roles(session: Session, ident: Identity, scope: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    if not scope:
        return ()
    role_ids = assignments.effective_role_ids(session, ident.user_id, **scope)
    if ident.app_cred is not None and not ident.app_cred.unrestricted:
        granted = {r["id"] for r in ident.app_cred.roles}
        role_ids &= granted
    if not role_ids:
        raise Unauthorized(AUTH_FAILED)
    return tuple(assignments.role_pairs(session, role_ids))


def authenticate(deps: Deps, auth: dict[str, Any]) -> TokenPayload:
    """Validate an ``auth`` request body and return the payload of a new token."""
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
    ident = _token(deps, identity["token"], scope) if "token" in methods else None
    with deps.db.reader() as session:
        if "password" in methods:
            found = _password(session, identity["password"])
            if ident is not None and ident.user_id != found.user_id:
                raise Unauthorized(AUTH_FAILED)
            ident = ident or found
            ident.methods = tuple(dict.fromkeys([*ident.methods, "password"]))
        if "application_credential" in methods:
            cred_ident = _application_credential(session, identity["application_credential"])
            # Every method must authenticate the same user, as upstream checks.
            if ident is not None and ident.user_id != cred_ident.user_id:
                raise Unauthorized(AUTH_FAILED)
            ident = cred_ident
        assert ident is not None
        if ident.app_cred_id and ident.app_cred is None:
            ident.app_cred = session.get(models.ApplicationCredential, ident.app_cred_id)
            if ident.app_cred is None:
                raise Unauthorized(AUTH_FAILED)
        user = session.get(models.User, ident.user_id)
        if user is None:
            raise Unauthorized(AUTH_FAILED)
        _check_user_enabled(session, user)
        token_scope = _scope(session, ident, scope)
        token_roles = _roles(session, ident, token_scope)
        if token_scope.get("project_id"):
            project = session.get(models.Project, token_scope["project_id"])
            token_scope["project_domain_id"] = project.domain_id if project else None
    now = time.time()
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
        **token_scope,
    )
    if ident.audit_chain:
        payload = TokenPayload(
            **{**payload.__dict__, "audit_ids": (payload.audit_id, ident.audit_chain)}
        )
    return payload


def validate_subject(deps: Deps, token: str | None, allow_expired: bool = False) -> TokenPayload:
    if not token:
        raise NotFound("Could not find token: X-Subject-Token is missing.")
    window = deps.opts.allow_expired_window if allow_expired else 0
    payload = deps.codec.decode(token, allow_expired_window=window)
    if deps.revocations.is_revoked(payload):
        raise NotFound("Could not recognize Fernet token")
    return payload


def revoke_token(deps: Deps, payload: TokenPayload) -> None:
    revoke.revoke(deps, audit_id=payload.audit_id)


# -- rendering -------------------------------------------------------------------------------


def _names(deps: Deps, kind: str, obj_id: str) -> dict[str, Any]:
    """{"id", "name", "domain": {...}} for a user or project, cached."""
    key = (kind, obj_id)
    cached = deps.cache.get(key)
    if cached is not None:
        return dict(cached)
    with deps.db.reader() as session:
        models_by_kind: dict[str, Any] = {
            "user": models.User,
            "project": models.Project,
            "domain": models.Domain,
        }
        obj: Any = session.get(models_by_kind[kind], obj_id)
        if obj is None:
            raise NotFound(f"Could not find {kind}: {obj_id}.")
        ref: dict[str, Any] = {"id": obj.id, "name": obj.name}
        if kind != "domain":
            domain = session.get(models.Domain, obj.domain_id)
            ref["domain"] = {"id": obj.domain_id, "name": domain.name if domain else None}
        if kind == "user":
            expires = obj.password_expires_at
            ref["password_expires_at"] = isotime_micro(expires) if expires else None
    deps.cache.put(key, ref)
    return dict(ref)


def render(deps: Deps, payload: TokenPayload, *, with_catalog: bool = True) -> dict[str, Any]:
    token: dict[str, Any] = {
        "methods": list(payload.methods),
        "user": _names(deps, "user", payload.user_id),
        "audit_ids": list(payload.audit_ids),
        "expires_at": isotime_micro(from_timestamp(payload.expires_at)),
        "issued_at": isotime_micro(from_timestamp(payload.issued_at)),
    }
    if payload.project_id:
        token["project"] = _names(deps, "project", payload.project_id)
        token["is_domain"] = False
    elif payload.domain_id:
        token["domain"] = _names(deps, "domain", payload.domain_id)
    elif payload.system:
        token["system"] = {"all": True}
    if payload.scoped:
        token["roles"] = [{"id": rid, "name": name} for rid, name in payload.roles]
        if with_catalog:
            token["catalog"] = catalog.token_catalog(deps)
    if payload.app_cred_id:
        token["application_credential"] = {"id": payload.app_cred_id, "restricted": True}
        cred_name = deps.cache.get(("app_cred", payload.app_cred_id))
        if cred_name is None:
            with deps.db.reader() as session:
                cred = session.get(models.ApplicationCredential, payload.app_cred_id)
                cred_name = (cred.name, not cred.unrestricted) if cred else ("", True)
            deps.cache.put(("app_cred", payload.app_cred_id), cred_name)
        token["application_credential"].update(name=cred_name[0], restricted=cred_name[1])
    return {"token": token}
