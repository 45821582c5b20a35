"""EC2 credentials (``/v3/users/{user_id}/credentials/OS-EC2``): access and secret keys.

They are ``ec2`` credentials of ``/v3/credentials`` (the same rows, encrypted the same
way), shown in the legacy shape: ``access``, ``secret``, ``tenant_id``, ``trust_id``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import NotFound, Unauthorized
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services import _rows
from tinystack.identity.services.access import enforce
from tinystack.identity.services.credentials import (
    EC2,
    CredentialFields,
    check_project_scope,
    check_unrestricted,
    decrypt,
    hash_access_key,
    insert,
)
from tinystack.identity.services.deps import Deps


@dataclass(frozen=True, slots=True)
class Ec2Credential:
    user_id: str
    tenant_id: str | None
    access: str
    secret: str
    trust_id: str | None


def _view(deps: Deps, row: models.Credential) -> Ec2Credential:
    blob = json.loads(decrypt(deps.credential_keys, row.encrypted_blob))
    return Ec2Credential(
        user_id=row.user_id,
        tenant_id=row.project_id,
        access=str(blob.get("access")),
        secret=str(blob.get("secret")),
        trust_id=blob.get("trust_id"),
    )


def create(deps: Deps, ctx: RequestContext, user_id: str, tenant_id: str | None) -> Ec2Credential:
    enforce(ctx, "identity:ec2_create_credential", {"target": {"credential": {"user_id": user_id}}})
    token = ctx.payload
    assert token is not None
    access, secret = new_hex_id(), new_hex_id()
    blob = {
        "access": access,
        "secret": secret,
        "trust_id": token.trust.id if token.trust is not None else None,
    }

    def tx(session: Session) -> Ec2Credential:
        check_unrestricted(session, token)
        _rows.user(session, user_id)
        if tenant_id is None:
            raise NotFound("Could not find project: None.")
        _rows.project(session, tenant_id)
        check_project_scope(token, tenant_id)
        data = CredentialFields(
            user_id=user_id, type=EC2, blob=json.dumps(blob), project_id=tenant_id
        )
        insert(deps, session, hash_access_key(access), data)
        return Ec2Credential(
            user_id=user_id,
            tenant_id=tenant_id,
            access=access,
            secret=secret,
            trust_id=blob["trust_id"],
        )

    return deps.db.write(tx)


def list_for_user(deps: Deps, ctx: RequestContext, user_id: str) -> list[Ec2Credential]:
    enforce(ctx, "identity:ec2_list_credentials", {"user_id": user_id})
    token = ctx.payload
    assert token is not None
    with deps.db.reader() as session:
        _rows.user(session, user_id)
        query = select(models.Credential).where(
            models.Credential.user_id == user_id, models.Credential.type == EC2
        )
        rows = list(session.scalars(query.order_by(models.Credential.id)))
    delegated = token.trust is not None or token.oauth is not None or token.app_cred_id
    return [_view(deps, r) for r in rows if not delegated or r.project_id == token.project_id]


def authorized(
    deps: Deps, ctx: RequestContext, rule: str, user_id: str, access: str
) -> Ec2Credential:
    """Load a user's EC2 credential by its access key (404) and enforce ``rule`` (403)."""
    with deps.db.reader() as session:
        row = session.get(models.Credential, hash_access_key(access))
        if row is None:
            raise NotFound(f"Could not find credential: {hash_access_key(access)}.")
        target = {"target": {"credential": {"user_id": row.user_id, "project_id": row.project_id}}}
        enforce(ctx, rule, target)
        _rows.user(session, user_id)
        if row.type != EC2 or row.user_id != user_id:
            raise Unauthorized("EC2 access key not found.")
        found = _view(deps, row)
    assert ctx.payload is not None
    check_project_scope(ctx.payload, found.tenant_id)
    return found


def show(deps: Deps, ctx: RequestContext, user_id: str, access: str) -> Ec2Credential:
    return authorized(deps, ctx, "identity:ec2_get_credential", user_id, access)


def delete(deps: Deps, ctx: RequestContext, user_id: str, access: str) -> None:
    authorized(deps, ctx, "identity:ec2_delete_credential", user_id, access)

    def tx(session: Session) -> None:
        found = session.get(models.Credential, hash_access_key(access))
        if found is None:
            raise NotFound(f"Could not find credential: {hash_access_key(access)}.")
        session.delete(found)

    deps.db.write(tx)
