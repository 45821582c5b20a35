"""The Fernet token payload and codec.

A token carries who (user, auth methods), the scope (project, domain, system
or none), the effective roles at issue time (ids and names, implied roles
included), the application credential it came from, the issue and expiry
times and audit ids. Roles travel in the token so that every service can
authorize without asking identity; anything that takes a role away
(assignment removal, role deletion, user or project disabled) is published as
a revocation event, which every validator checks.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass, field, replace
from typing import Any

import msgpack
from cryptography.fernet import InvalidToken

from tinystack.common.auth.keys import KeyRepository
from tinystack.common.exceptions import NotFound, Unauthorized

PAYLOAD_VERSION = 1
#: Roles travel in the token (about 70 characters each), so a user with many roles has a
#: long token; 8 KiB still fits the HTTP header limits of common servers and proxies.
MAX_TOKEN_LENGTH = 8192


def new_audit_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


@dataclass(frozen=True)
class FederatedScope:
    """Where a federated user's token came from (Keystone's ``OS-FEDERATION``): the
    identity provider, the protocol, and the groups its mapping put the user in."""

    idp_id: str
    protocol_id: str
    group_ids: tuple[str, ...]


@dataclass(frozen=True)
class TrustScope:
    """The trust a trust-scoped token was issued through (Keystone's ``OS-TRUST:trust``)."""

    id: str
    trustor_id: str
    trustee_id: str
    impersonation: bool


@dataclass(frozen=True)
class OAuthScope:
    """The OAuth1 access token an OAuth-scoped token was issued with (``OS-OAUTH1``)."""

    access_token_id: str
    consumer_id: str


@dataclass(frozen=True)
class AccessRule:
    """A request an application credential may make: service type, method, path pattern."""

    service: str
    method: str
    path: str


@dataclass(frozen=True)
class TokenPayload:
    user_id: str
    methods: tuple[str, ...]
    expires_at: float
    issued_at: float = field(default_factory=time.time)
    project_id: str | None = None
    domain_id: str | None = None
    system: bool = False
    roles: tuple[tuple[str, str], ...] = ()
    audit_ids: tuple[str, ...] = field(default_factory=lambda: (new_audit_id(),))
    app_cred_id: str | None = None
    project_domain_id: str | None = None
    federated: FederatedScope | None = None
    trust: TrustScope | None = None
    oauth: OAuthScope | None = None
    #: the application credential's access rules; None: unrestricted
    access_rules: tuple[AccessRule, ...] | None = None

    @property
    def role_names(self) -> list[str]:
        return [name for _id, name in self.roles]

    @property
    def role_ids(self) -> list[str]:
        return [rid for rid, _name in self.roles]

    @property
    def audit_id(self) -> str:
        return self.audit_ids[0]

    @property
    def audit_chain_id(self) -> str:
        return self.audit_ids[-1]

    @property
    def scoped(self) -> bool:
        return bool(self.project_id or self.domain_id or self.system)

    def rescoped(self, **changes: Any) -> TokenPayload:
        """A new token derived from this one: fresh audit id, same chain."""
        return replace(
            self, issued_at=time.time(), audit_ids=(new_audit_id(), self.audit_chain_id), **changes
        )

    def _extension(self) -> dict[str, Any]:
        """Attributes most tokens do not have, sent only when set (plain tokens stay short)."""
        ext: dict[str, Any] = {}
        if self.trust is not None:
            t = self.trust
            ext["t"] = [t.id, t.trustor_id, t.trustee_id, t.impersonation]
        if self.oauth is not None:
            ext["o"] = [self.oauth.access_token_id, self.oauth.consumer_id]
        if self.access_rules is not None:
            ext["r"] = [[r.service, r.method, r.path] for r in self.access_rules]
        if self.federated is not None:
            f = self.federated
            ext["f"] = [f.idp_id, f.protocol_id, list(f.group_ids)]
        return ext

    def to_wire(self) -> list[Any]:
        ext = self._extension()
        return [
            PAYLOAD_VERSION,
            self.user_id,
            list(self.methods),
            self.expires_at,
            self.issued_at,
            self.project_id,
            self.domain_id,
            self.system,
            [list(r) for r in self.roles],
            list(self.audit_ids),
            self.app_cred_id,
            self.project_domain_id,
            *([ext] if ext else []),
        ]

    @classmethod
    def from_wire(cls, data: list[Any]) -> TokenPayload:
        if not data or data[0] != PAYLOAD_VERSION:
            raise ValueError("unknown token payload version")
        ext: dict[str, Any] = data[12] if len(data) == 13 else {}
        if not isinstance(ext, dict):
            raise ValueError("bad token payload extension")
        fed = ext.get("f")
        (
            _v,
            user_id,
            methods,
            expires_at,
            issued_at,
            project_id,
            domain_id,
            system,
            roles,
            audit_ids,
            app_cred_id,
            project_domain_id,
        ) = data[:12]
        trust, oauth, rules = ext.get("t"), ext.get("o"), ext.get("r")
        return cls(
            user_id=user_id,
            methods=tuple(methods),
            expires_at=expires_at,
            issued_at=issued_at,
            project_id=project_id,
            domain_id=domain_id,
            system=system,
            roles=tuple((r[0], r[1]) for r in roles),
            audit_ids=tuple(audit_ids),
            app_cred_id=app_cred_id,
            project_domain_id=project_domain_id,
            federated=FederatedScope(fed[0], fed[1], tuple(fed[2])) if fed is not None else None,
            trust=TrustScope(*trust) if trust is not None else None,
            oauth=OAuthScope(*oauth) if oauth is not None else None,
            access_rules=tuple(AccessRule(*r) for r in rules) if rules is not None else None,
        )


class TokenCodec:
    def __init__(self, keys: KeyRepository) -> None:
        self.keys = keys

    def encode(self, payload: TokenPayload) -> str:
        packed = msgpack.packb(payload.to_wire(), use_bin_type=True)
        token = self.keys.fernet().encrypt(packed)
        # Keystone strips the base64 padding; clients treat the token as opaque.
        return token.decode().rstrip("=")

    def decode(self, token: str, *, allow_expired_window: float = 0) -> TokenPayload:
        """Decrypt and check expiry; raise :class:`NotFound` as Keystone does for bad tokens."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            raise NotFound("Could not recognize Fernet token")
        padded = token + "=" * (-len(token) % 4)
        try:
            packed = self.keys.fernet().decrypt(padded.encode())
            payload = TokenPayload.from_wire(msgpack.unpackb(packed, raw=False))
        except (InvalidToken, ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError):
            raise NotFound("Could not recognize Fernet token") from None
        if payload.expires_at + allow_expired_window < time.time():
            raise NotFound("The token has expired")
        return payload

    def validate_for_request(self, token: str) -> TokenPayload:
        """Decode the caller's own token: any failure is a 401."""
        try:
            return self.decode(token)
        except NotFound as exc:
            raise Unauthorized("The request you have made requires authentication.") from exc
