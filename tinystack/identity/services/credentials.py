"""Credentials (``/v3/credentials``): blobs a user keeps in identity, encrypted at rest.

Blobs are encrypted with the credential key repository (Fernet keys distinct from the
token keys; ``tinystack identity credential-setup/-rotate/-migrate``), each row
remembering a hash of the key that encrypted it. An ``ec2`` credential's id is the
SHA-256 of its access key, so ``/v3/ec2tokens`` finds it by the key a client signs with;
made with a trust-, OAuth- or application-credential-scoped token, it remembers that
delegation and authenticates into the same one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.keys import KeyRepository
from tinystack.common.auth.tokens import TokenPayload
from tinystack.common.db import Database
from tinystack.common.exceptions import Conflict, Forbidden, NotFound, ValidationError
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services.access import enforce
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import JSON

EC2 = "ec2"
#: blob keys of an ec2 credential that an update may not change
EC2_FIXED_KEYS = ("trust_id", "app_cred_id", "access_token_id", "access_id")


@dataclass(frozen=True, slots=True)
class Credential:
    id: str
    user_id: str
    project_id: str | None
    type: str
    blob: str
    extra: dict[str, JSON]


@dataclass(frozen=True, slots=True)
class CredentialFields:
    """A credential's attributes as a request sets them (``given``: which were sent)."""

    user_id: str | None = None
    type: str | None = None
    blob: str | None = None
    project_id: str | None = None
    extra: dict[str, JSON] = field(default_factory=dict)
    given: frozenset[str] = frozenset()


def hash_access_key(access: str) -> str:
    """The id of an ec2 credential: the SHA-256 of its access key, as upstream."""
    return hashlib.sha256(access.encode()).hexdigest()


# -- encryption ------------------------------------------------------------------------------


def key_hash(keys: KeyRepository) -> str:
    return hashlib.sha256(keys.primary_key()).hexdigest()


def encrypt(keys: KeyRepository, blob: str) -> tuple[str, str]:
    """The encrypted blob and the hash of the key that encrypted it."""
    return keys.fernet().encrypt(blob.encode()).decode(), key_hash(keys)


def decrypt(keys: KeyRepository, encrypted: str) -> str:
    try:
        return keys.fernet().decrypt(encrypted.encode()).decode()
    except InvalidToken:
        raise ValidationError(
            "Could not decrypt the credential: its key is no longer in the credential key "
            "repository."
        ) from None


def _record(keys: KeyRepository, row: models.Credential) -> Credential:
    return Credential(
        id=row.id,
        user_id=row.user_id,
        project_id=row.project_id,
        type=row.type,
        blob=decrypt(keys, row.encrypted_blob),
        extra=dict(row.extra),
    )


def ec2_blob(blob: str | None) -> dict[str, JSON]:
    """An ec2 credential's blob as an object with an ``access`` key (else 400)."""
    try:
        data = json.loads(blob or "")
    except ValueError:
        raise ValidationError("Invalid blob in credential") from None
    if not data or not isinstance(data, dict):
        raise ValidationError("Expecting to find blob in credential.")
    if data.get("access") is None:
        raise ValidationError("Expecting to find access in credential.")
    return data


# -- delegated tokens ------------------------------------------------------------------------


def delegated(token: TokenPayload) -> bool:
    return token.trust is not None or token.oauth is not None or token.app_cred_id is not None


def check_project_scope(token: TokenPayload, project_id: str | None) -> None:
    """A delegated token reaches only the credentials of its own project (403)."""
    if delegated(token) and project_id != token.project_id:
        raise Forbidden(
            "Credential project does not match the project scope of the delegated token"
        )


def check_unrestricted(session: Session, token: TokenPayload) -> None:
    """A restricted application credential may not create ec2 credentials (403)."""
    if token.app_cred_id is None:
        return
    cred = session.get(models.ApplicationCredential, token.app_cred_id)
    if cred is None or not cred.unrestricted:
        raise Forbidden(
            "Using method 'application_credential' is not allowed for managing additional "
            "credentials."
        )


def delegation_marks(token: TokenPayload) -> dict[str, JSON]:
    """What an ec2 blob made with a delegated token remembers of the delegation."""
    marks: dict[str, JSON] = {}
    if token.trust is not None:
        marks["trust_id"] = token.trust.id
    if token.app_cred_id is not None:
        marks["app_cred_id"] = token.app_cred_id
    if token.oauth is not None:
        marks["access_token_id"] = token.oauth.access_token_id
    return marks


def _target(
    user_id: str | None, project_id: str | None = None, type_: str | None = None
) -> dict[str, object]:
    return {"target": {"credential": {"user_id": user_id, "project_id": project_id, "type": type_}}}


# -- CRUD ------------------------------------------------------------------------------------


def _check_limit(deps: Deps, session: Session, user_id: str) -> None:
    limit = deps.opts.credential_user_limit
    if limit < 0:
        return
    count = session.scalar(
        select(func.count())
        .select_from(models.Credential)
        .where(models.Credential.user_id == user_id)
    )
    if (count or 0) >= limit:
        raise Forbidden(
            f"Unable to create additional credentials, maximum of {limit} already exceeded "
            "for user."
        )


def insert(deps: Deps, session: Session, row_id: str, data: CredentialFields) -> Credential:
    """Store a credential in the caller's transaction (409 on a duplicate id)."""
    assert data.user_id is not None and data.type is not None and data.blob is not None
    if session.get(models.Credential, row_id) is not None:
        raise Conflict(
            f"Conflict occurred attempting to store credential - Duplicate ID, {row_id}."
        )
    _check_limit(deps, session, data.user_id)
    encrypted, used_key = encrypt(deps.credential_keys, data.blob)
    row = models.Credential(
        id=row_id,
        user_id=data.user_id,
        project_id=data.project_id,
        type=data.type,
        encrypted_blob=encrypted,
        key_hash=used_key,
        extra=dict(data.extra),
    )
    session.add(row)
    session.flush()
    return _record(deps.credential_keys, row)


def create(deps: Deps, ctx: RequestContext, data: CredentialFields) -> Credential:
    enforce(ctx, "identity:create_credential", _target(data.user_id, data.project_id, data.type))
    token = ctx.payload
    assert token is not None
    check_project_scope(token, data.project_id)
    blob = data.blob
    row_id = new_hex_id()
    if (data.type or "").lower() == EC2:
        if not data.project_id:
            raise ValidationError("Expecting to find project_id in credential.")
        parsed = ec2_blob(data.blob)
        row_id = hash_access_key(str(parsed["access"]))
        marks = delegation_marks(token)
        if marks:
            blob = json.dumps({**parsed, **marks})

    def tx(session: Session) -> Credential:
        if (data.type or "").lower() == EC2:
            check_unrestricted(session, token)
        return insert(deps, session, row_id, _with_blob(data, blob))

    return deps.db.write(tx)


def _with_blob(data: CredentialFields, blob: str | None) -> CredentialFields:
    return CredentialFields(
        user_id=data.user_id,
        type=data.type,
        blob=blob,
        project_id=data.project_id,
        extra=data.extra,
        given=data.given,
    )


def list_credentials(
    deps: Deps, ctx: RequestContext, user_id: str | None, type_: str | None
) -> list[Credential]:
    """The credentials the caller may see, by user and type."""
    target = {} if ctx.system_scope else _target(ctx.user_id)
    enforce(ctx, "identity:list_credentials", target)
    token = ctx.payload
    assert token is not None
    with deps.db.reader() as session:
        query = select(models.Credential).order_by(models.Credential.id)
        if user_id is not None:
            query = query.where(models.Credential.user_id == user_id)
        if type_ is not None:
            query = query.where(models.Credential.type == type_)
        rows = list(session.scalars(query))
    visible = []
    for row in rows:
        target = _target(row.user_id, row.project_id, row.type)
        if not ctx.allowed("identity:get_credential", _pruned(target)):
            continue
        if delegated(token) and row.project_id != token.project_id:
            continue
        visible.append(_record(deps.credential_keys, row))
    return visible


def _pruned(target: dict[str, object]) -> dict[str, object]:
    inner = target["target"]
    assert isinstance(inner, dict)
    cred = {k: v for k, v in inner["credential"].items() if v is not None}
    return {"target": {"credential": cred}}


def _row(session: Session, credential_id: str) -> models.Credential:
    row = session.get(models.Credential, credential_id)
    if row is None:
        raise NotFound(f"Could not find credential: {credential_id}.")
    return row


def authorized(deps: Deps, ctx: RequestContext, rule: str, credential_id: str) -> Credential:
    """Load a credential (404), enforce ``rule`` on it (403) and the delegation's project."""
    with deps.db.reader() as session:
        cred = _record(deps.credential_keys, _row(session, credential_id))
    enforce(ctx, rule, _target(cred.user_id, cred.project_id, cred.type))
    assert ctx.payload is not None
    check_project_scope(ctx.payload, cred.project_id)
    return cred


def show(deps: Deps, ctx: RequestContext, credential_id: str) -> Credential:
    return authorized(deps, ctx, "identity:get_credential", credential_id)


def update(
    deps: Deps, ctx: RequestContext, credential_id: str, data: CredentialFields
) -> Credential:
    current = authorized(deps, ctx, "identity:update_credential", credential_id)
    new_type = data.type if "type" in data.given else current.type
    new_project = data.project_id if "project_id" in data.given else current.project_id
    new_user = data.user_id if "user_id" in data.given else current.user_id
    if (new_type or "").lower() == EC2:
        if not new_project:
            raise ValidationError("Expecting to find project_id in credential.")
        if current.type.lower() == EC2 and "blob" in data.given:
            old, new = json.loads(current.blob), ec2_blob(data.blob)
            for key in EC2_FIXED_KEYS:
                if old.get(key) != new.get(key):
                    raise ValidationError(f"{key} can not be updated for credential")
    # The owner may not hand a credential to someone else: check the result too.
    enforce(ctx, "identity:update_credential", _target(new_user, new_project, new_type))

    def tx(session: Session) -> Credential:
        row = _row(session, credential_id)
        if "user_id" in data.given and data.user_id:
            row.user_id = data.user_id
        if "type" in data.given and data.type:
            row.type = data.type
        if "project_id" in data.given:
            row.project_id = data.project_id
        if "blob" in data.given and data.blob is not None:
            row.encrypted_blob, row.key_hash = encrypt(deps.credential_keys, data.blob)
        if data.extra:
            row.extra = {**row.extra, **data.extra}
        session.flush()
        return _record(deps.credential_keys, row)

    return deps.db.write(tx)


def delete_credential(deps: Deps, ctx: RequestContext, credential_id: str) -> None:
    authorized(deps, ctx, "identity:delete_credential", credential_id)

    def tx(session: Session) -> None:
        session.delete(_row(session, credential_id))

    deps.db.write(tx)


def purge_for_user(session: Session, user_id: str) -> None:
    session.execute(delete(models.Credential).where(models.Credential.user_id == user_id))


def purge_for_project(session: Session, project_id: str) -> None:
    session.execute(delete(models.Credential).where(models.Credential.project_id == project_id))


# -- the key repository (tinystack identity credential-*) ------------------------------------


def rotate(db: Database, keys: KeyRepository, max_active_keys: int = 3) -> int:
    """Promote the staged key, refusing while a credential still needs an older key
    (run :func:`migrate` first, as ``keystone-manage credential_rotate`` insists)."""
    current = key_hash(keys)
    with db.reader() as session:
        stale = session.scalar(
            select(func.count())
            .select_from(models.Credential)
            .where(models.Credential.key_hash != current)
        )
    if stale:
        raise Conflict(
            f"Unable to rotate credential keys because {stale} credentials are not encrypted "
            "with the primary key; run credential-migrate first."
        )
    return keys.rotate(max_active_keys)


def migrate(db: Database, keys: KeyRepository) -> int:
    """Re-encrypt every credential not encrypted with the primary key; how many were."""
    current = key_hash(keys)

    def tx(session: Session) -> int:
        rows = session.scalars(
            select(models.Credential).where(models.Credential.key_hash != current)
        ).all()
        for row in rows:
            row.encrypted_blob, row.key_hash = encrypt(keys, decrypt(keys, row.encrypted_blob))
        return len(rows)

    return db.write(tx)
