"""Application credentials: a secret that authenticates as its user, on one project."""

from __future__ import annotations

import base64
import os
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.revocation import RevocationEvent
from tinystack.common.auth.tokens import TokenPayload
from tinystack.common.exceptions import Conflict, Forbidden, NotFound, ValidationError
from tinystack.common.timeutils import naive_utc, new_hex_id, utcnow
from tinystack.identity import models
from tinystack.identity.services import _rows, access_rules, convert, grants, passwords, revoke
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import (
    AppCredFields,
    ApplicationCredential,
    NewApplicationCredential,
)


def _new_secret() -> str:
    return base64.urlsafe_b64encode(os.urandom(64)).rstrip(b"=").decode()


def create(
    deps: Deps, user_id: str, token: TokenPayload, data: AppCredFields
) -> NewApplicationCredential:
    if token.user_id != user_id:
        raise Forbidden("Application credentials can only be created for your own user.")
    if token.project_id is None:
        raise ValidationError("Application credentials need a project-scoped token.")
    if token.app_cred_id is not None:
        with deps.db.reader() as session:
            parent = session.get(models.ApplicationCredential, token.app_cred_id)
            if parent is None or not parent.unrestricted:
                raise Forbidden("A restricted application credential cannot create another.")
    secret = data.get("secret") or _new_secret()
    secret_hash = passwords.hash_password(secret, deps.opts.password_hash_rounds)
    expires_at: datetime | None = data.get("expires_at")
    if expires_at is not None:
        expires_at = naive_utc(expires_at)
        if expires_at < utcnow():
            raise ValidationError(
                "The expiration time of an application credential is in the past."
            )

    def tx(session: Session) -> ApplicationCredential:
        clash = select(models.ApplicationCredential.id).where(
            models.ApplicationCredential.user_id == user_id,
            models.ApplicationCredential.name == data["name"],
        )
        if session.scalars(clash).first():
            raise Conflict(f"Duplicate application credential name {data['name']}.")
        held = grants.effective_role_ids(session, user_id, project_id=token.project_id)
        requested = data.get("roles")
        if requested:
            wanted: set[str] = set()
            for ref in requested:
                role = (
                    _rows.role(session, ref["id"])
                    if "id" in ref
                    else _rows.role_by_name(session, ref.get("name", ""), ref.get("domain_id"))
                )
                if role is None or role.id not in held:
                    raise NotFound(f"Could not find role assignment for role {ref} on the project.")
                wanted.add(role.id)
        else:
            wanted = set(token.role_ids) & held
        role_refs = [
            {"id": r.id, "name": r.name, "domain_id": r.domain_id}
            for r in session.scalars(select(models.Role).where(models.Role.id.in_(wanted)))
        ]
        cred = models.ApplicationCredential(
            id=new_hex_id(),
            name=data["name"],
            user_id=user_id,
            project_id=token.project_id,
            secret_hash=secret_hash,
            description=data.get("description"),
            expires_at=expires_at,
            unrestricted=bool(data.get("unrestricted", False)),
            roles=role_refs,
            created_at=utcnow(),
        )
        session.add(cred)
        session.flush()
        access_rules.attach(session, cred, data.get("access_rules") or [])
        return convert.application_credential(cred)

    return NewApplicationCredential(credential=deps.db.write(tx), secret=secret)


def list_for_user(deps: Deps, user_id: str, name: str | None) -> list[ApplicationCredential]:
    with deps.db.reader() as session:
        if session.get(models.User, user_id) is None:
            raise NotFound(f"Could not find user: {user_id}.")
        query = select(models.ApplicationCredential).where(
            models.ApplicationCredential.user_id == user_id
        )
        if name is not None:
            query = query.where(models.ApplicationCredential.name == name)
        query = query.order_by(models.ApplicationCredential.name)
        return [convert.application_credential(c) for c in session.scalars(query)]


def show(deps: Deps, user_id: str, cred_id: str) -> ApplicationCredential:
    with deps.db.reader() as session:
        row = _rows.application_credential(session, user_id, cred_id)
        return convert.application_credential(row)


def delete(deps: Deps, user_id: str, cred_id: str, token: TokenPayload) -> None:
    def tx(session: Session) -> list[RevocationEvent]:
        cred = _rows.application_credential(session, user_id, cred_id)
        if token.app_cred_id is not None:
            parent = session.get(models.ApplicationCredential, token.app_cred_id)
            if parent is None or not parent.unrestricted:
                raise Forbidden("A restricted application credential cannot delete credentials.")
        session.delete(cred)
        return [revoke.record(session, app_cred_id=cred_id)]

    revoke.publish(deps, deps.db.write(tx))
