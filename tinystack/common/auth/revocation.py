"""Token revocation events, as Keystone models them, and the in-memory list checked per request.

An event revokes every token issued at or before ``issued_before`` whose
attributes match all of the event's non-empty fields. Identity persists the
events and feeds this list; validators in other services share the list in the
embedded deployment and refresh it from identity's ``/v3/OS-REVOKE/events``
when they run in separate processes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from tinystack.common.auth.tokens import TokenPayload

#: the attributes an event can match on, in the order Keystone lists them
MATCH_FIELDS = (
    "user_id",
    "project_id",
    "domain_id",
    "role_id",
    "audit_id",
    "audit_chain_id",
    "app_cred_id",
    "trust_id",
    "consumer_id",
    "access_token_id",
)
#: how ``OS-REVOKE/events`` names the fields of the extensions, as upstream
WIRE_NAMES = {
    "trust_id": "OS-TRUST:trust_id",
    "consumer_id": "OS-OAUTH1:consumer_id",
    "access_token_id": "OS-OAUTH1:access_token_id",
}


def _delegations(token: TokenPayload) -> tuple[str, ...]:
    """Index keys of what a token was delegated through (trust, consumer, access token)."""
    keys: list[str] = []
    if token.trust is not None:
        keys.append("trust:" + token.trust.id)
    if token.oauth is not None:
        keys += ["consumer:" + token.oauth.consumer_id, "access:" + token.oauth.access_token_id]
    return tuple(keys)


def _users(token: TokenPayload) -> tuple[str, ...]:
    """The users a token acts for: its user and, through a trust, trustor and trustee."""
    if token.trust is None:
        return (token.user_id,)
    return (token.user_id, token.trust.trustor_id, token.trust.trustee_id)


@dataclass(frozen=True)
class RevocationEvent:
    issued_before: float
    user_id: str | None = None
    project_id: str | None = None
    domain_id: str | None = None
    role_id: str | None = None
    audit_id: str | None = None
    audit_chain_id: str | None = None
    app_cred_id: str | None = None
    trust_id: str | None = None
    consumer_id: str | None = None
    access_token_id: str | None = None
    revoked_at: float = 0.0

    def matches(self, token: TokenPayload) -> bool:
        if token.issued_at > self.issued_before:
            return False
        # As upstream, a user matches the token's user, trustor or trustee.
        if self.user_id is not None and self.user_id not in _users(token):
            return False
        if self.trust_id is not None and (token.trust is None or self.trust_id != token.trust.id):
            return False
        oauth = token.oauth
        if self.consumer_id is not None and (
            oauth is None or self.consumer_id != oauth.consumer_id
        ):
            return False
        if self.access_token_id is not None and (
            oauth is None or self.access_token_id != oauth.access_token_id
        ):
            return False
        if self.project_id is not None and self.project_id != token.project_id:
            return False
        if self.domain_id is not None and self.domain_id != token.domain_id:
            return False
        if self.role_id is not None and self.role_id not in token.role_ids:
            return False
        if self.audit_id is not None and self.audit_id != token.audit_id:
            return False
        if self.audit_chain_id is not None and self.audit_chain_id != token.audit_chain_id:
            return False
        return self.app_cred_id is None or self.app_cred_id == token.app_cred_id


class RevocationList:
    """Thread-safe set of events, indexed by the fields a check can look up directly."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_audit: dict[str, list[RevocationEvent]] = {}
        self._by_user: dict[str, list[RevocationEvent]] = {}
        self._by_delegation: dict[str, list[RevocationEvent]] = {}
        self._other: list[RevocationEvent] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def _index(self, event: RevocationEvent) -> None:
        if event.audit_id is not None:
            self._by_audit.setdefault(event.audit_id, []).append(event)
        elif event.audit_chain_id is not None:
            self._by_audit.setdefault(event.audit_chain_id, []).append(event)
        elif event.user_id is not None:
            self._by_user.setdefault(event.user_id, []).append(event)
        elif event.trust_id is not None:
            self._by_delegation.setdefault("trust:" + event.trust_id, []).append(event)
        elif event.access_token_id is not None:
            self._by_delegation.setdefault("access:" + event.access_token_id, []).append(event)
        elif event.consumer_id is not None:
            self._by_delegation.setdefault("consumer:" + event.consumer_id, []).append(event)
        else:
            self._other.append(event)
        self._count += 1

    def add(self, event: RevocationEvent) -> None:
        with self._lock:
            self._index(event)

    def replace(self, events: Iterable[RevocationEvent]) -> None:
        with self._lock:
            self._by_audit, self._by_user, self._other, self._count = {}, {}, [], 0
            self._by_delegation = {}
            for event in events:
                self._index(event)

    def events(self) -> list[RevocationEvent]:
        out = list(self._other)
        for group in (self._by_audit, self._by_user, self._by_delegation):
            for events in group.values():
                out.extend(events)
        return out

    def is_revoked(self, token: TokenPayload) -> bool:
        if not self._count:
            return False
        candidates = list(self._other)
        for user_id in set(_users(token)):
            candidates += self._by_user.get(user_id, ())
        for audit_id in set(token.audit_ids):
            candidates += self._by_audit.get(audit_id, ())
        for key in _delegations(token):
            candidates += self._by_delegation.get(key, ())
        return any(event.matches(token) for event in candidates)
