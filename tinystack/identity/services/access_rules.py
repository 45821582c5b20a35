"""Access rules of application credentials: a user's, shared by the credentials naming them.

A new application credential names each rule by the id of an existing one or by its
service, path and method; an identical rule of the same user is reused. A rule in use by
an application credential cannot be deleted (403), as upstream.
"""

from __future__ import annotations

import json

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.auth.tokens import AccessRule as TokenAccessRule
from tinystack.common.exceptions import Forbidden, NotFound, ValidationError
from tinystack.common.timeutils import new_hex_id
from tinystack.identity import models
from tinystack.identity.services import _rows, convert
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import AccessRule, AccessRuleSpec

#: the rules travel in every token of the credential: keep them well below the token limit
MAX_RULES_BYTES = 2048


def _row(session: Session, user_id: str, rule_id: str) -> models.AccessRule:
    row = session.get(models.AccessRule, rule_id)
    if row is None or row.user_id != user_id:
        raise NotFound(f"Could not find access rule: {rule_id}.")
    return row


def attach(
    session: Session, cred: models.ApplicationCredential, specs: list[AccessRuleSpec]
) -> None:
    """Link ``specs`` to a new application credential (in the caller's transaction)."""
    if len(json.dumps(specs)) > MAX_RULES_BYTES:
        raise ValidationError(f"The access rules exceed {MAX_RULES_BYTES} bytes.")
    linked: list[models.AccessRule] = []
    for spec in specs:
        found: models.AccessRule | None = None
        if "id" in spec:
            found = session.get(models.AccessRule, spec["id"])
            if found is not None and found.user_id != cred.user_id:
                raise NotFound(f"Could not find access rule: {spec['id']}.")
        if found is None:
            if not {"service", "path", "method"} <= set(spec):
                raise NotFound(f"Could not find access rule: {spec.get('id')}.")
            found = session.scalars(
                select(models.AccessRule).where(
                    models.AccessRule.user_id == cred.user_id,
                    models.AccessRule.service == spec["service"],
                    models.AccessRule.path == spec["path"],
                    models.AccessRule.method == spec["method"],
                )
            ).first()
        if found is None:
            found = models.AccessRule(
                id=spec.get("id") or new_hex_id(),
                user_id=cred.user_id,
                service=spec["service"],
                path=spec["path"],
                method=spec["method"],
            )
            session.add(found)
            session.flush()
        if found not in linked:
            linked.append(found)
    cred.access_rules = linked


def for_token(cred: models.ApplicationCredential) -> tuple[TokenAccessRule, ...] | None:
    """What a token from ``cred`` carries: its rules, or None when it has none."""
    if not cred.access_rules:
        return None
    return tuple(TokenAccessRule(r.service, r.method, r.path) for r in cred.access_rules)


def list_for_user(
    deps: Deps,
    user_id: str,
    service: str | None = None,
    path: str | None = None,
    method: str | None = None,
) -> list[AccessRule]:
    with deps.db.reader() as session:
        _rows.user(session, user_id)
        query = select(models.AccessRule).where(models.AccessRule.user_id == user_id)
        if service is not None:
            query = query.where(models.AccessRule.service == service)
        if path is not None:
            query = query.where(models.AccessRule.path == path)
        if method is not None:
            query = query.where(models.AccessRule.method == method)
        return [
            convert.access_rule(r) for r in session.scalars(query.order_by(models.AccessRule.id))
        ]


def show(deps: Deps, user_id: str, rule_id: str) -> AccessRule:
    with deps.db.reader() as session:
        return convert.access_rule(_row(session, user_id, rule_id))


def delete_rule(deps: Deps, user_id: str, rule_id: str) -> None:
    def tx(session: Session) -> None:
        row = _row(session, user_id, rule_id)
        used = select(models.ApplicationCredentialAccessRule.application_credential_id).where(
            models.ApplicationCredentialAccessRule.access_rule_id == rule_id
        )
        if session.scalars(used).first() is not None:
            raise Forbidden("May not delete access rule in use")
        session.delete(row)

    deps.db.write(tx)


def purge_for_user(session: Session, user_id: str) -> None:
    """Drop a deleted user's rules (its application credentials are gone already)."""
    session.execute(delete(models.AccessRule).where(models.AccessRule.user_id == user_id))
