"""What goes with a deleted user or project: its trusts, OAuth tokens, credentials, access
rules and endpoint filters (upstream's deletion callbacks), in the deleting transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tinystack.common.auth.revocation import RevocationEvent
from tinystack.identity.services import (
    access_rules,
    credentials,
    endpoint_filters,
    oauth1,
    trusts,
)


def user_deleted(session: Session, user_id: str) -> list[RevocationEvent]:
    """Drop what a deleted user owns (after its application credentials); the events that
    revoke the tokens of its trusts."""
    events = trusts.purge_for_user(session, user_id)
    oauth1.purge_for_user(session, user_id)
    credentials.purge_for_user(session, user_id)
    access_rules.purge_for_user(session, user_id)
    return events


def project_deleted(session: Session, project_id: str) -> None:
    endpoint_filters.purge_for_project(session, project_id)
    credentials.purge_for_project(session, project_id)
