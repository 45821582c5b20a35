"""OAuth1 delegation (``OS-OAUTH1``): consumers, request tokens, authorization, access tokens.

A consumer asks for a request token on a project (signed with its secret), a user with
roles there authorizes it for some of them (and gets a verifier), the consumer trades
token and verifier for an access token, and the ``oauth1`` auth method turns a request
signed with the access token into an OAuth-scoped token (``TokenPayload.oauth``) on the
project, with those roles. oauthlib verifies the signatures (HMAC-SHA1 and friends).
Deleting a consumer or an access token revokes the tokens issued through it.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tinystack.common.auth.context import RequestContext
from tinystack.common.auth.revocation import RevocationEvent
from tinystack.common.auth.tokens import OAuthScope, TokenPayload
from tinystack.common.exceptions import Forbidden, NotFound, Unauthorized, ValidationError
from tinystack.common.timeutils import new_hex_id, utcnow
from tinystack.identity import models
from tinystack.identity.services import _rows, convert, grants, revoke, roles
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import JSON, Role, RoleSpec

#: verifier characters: letters and digits without the easily confused ones, as upstream
VERIFIER_CHARS = "".join(c for c in string.ascii_letters + string.digits if c not in "jiIl1oO0")
HEX = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Consumer:
    id: str
    description: str | None
    extra: dict[str, JSON]


@dataclass(frozen=True, slots=True)
class NewConsumer:
    consumer: Consumer
    secret: str


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    """A request or access token as the consumer receives it (form-encoded)."""

    key: str
    secret: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class AccessToken:
    id: str
    consumer_id: str
    authorizing_user_id: str
    project_id: str
    role_ids: tuple[str, ...]
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What oauthlib needs of an HTTP request to check its OAuth signature."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: str = ""

    def oauth_params(self) -> dict[str, str]:
        header = self.headers.get("Authorization") or self.headers.get("authorization")
        if not header:
            raise ValidationError(
                "No Authorization headers found, cannot proceed with OAuth related calls."
            )
        try:
            return dict(parse_authorization_header(header))
        except ValueError:
            raise ValidationError("Invalid OAuth Authorization header.") from None


@dataclass(frozen=True, slots=True)
class OAuthGrant:
    """What an OAuth-scoped token gets: its user, project, roles and end."""

    user_id: str
    project_id: str
    roles: tuple[tuple[str, str], ...]
    oauth: OAuthScope
    expires_at: float | None


class _Secrets(RequestValidator):  # type: ignore[misc]
    """oauthlib's view of one request: the secrets already loaded for it."""

    def __init__(self, client_secret: str, token_secret: str | None) -> None:
        super().__init__()
        self._client_secret = client_secret
        self._token_secret = token_secret

    enforce_ssl = False
    safe_characters = set(HEX)

    def check_client_key(self, client_key: str) -> bool:
        return set(client_key) <= HEX and len(client_key) == 32

    def check_nonce(self, nonce: str) -> bool:
        return bool(nonce) and len(nonce) <= 255

    def validate_timestamp_and_nonce(self, *args: object, **kwargs: object) -> bool:
        return True

    def validate_client_key(self, client_key: str, request: object) -> bool:
        return True

    def get_client_secret(self, client_key: str, request: object) -> str:
        return self._client_secret

    def get_access_token_secret(self, client_key: str, token: str, request: object) -> str | None:
        return self._token_secret


def _verify(signed: SignedRequest, client_secret: str, token_secret: str | None) -> bool:
    body = signed.body
    content_type = signed.headers.get("Content-Type") or signed.headers.get("content-type") or ""
    if "application/x-www-form-urlencoded" not in content_type:
        body = ""
    endpoint = SignatureOnlyEndpoint(_Secrets(client_secret, token_secret))
    valid, _request = endpoint.validate_request(
        signed.url, http_method=signed.method, body=body, headers=dict(signed.headers)
    )
    return bool(valid)


def _expiry(seconds: int) -> datetime | None:
    return utcnow() + timedelta(seconds=seconds) if seconds > 0 else None


def _expired(expires_at: datetime | None) -> bool:
    return expires_at is not None and expires_at < utcnow()


def _delegated(token: TokenPayload) -> bool:
    return token.trust is not None or token.oauth is not None or token.app_cred_id is not None


# -- consumers -------------------------------------------------------------------------------


def _consumer(row: models.Consumer) -> Consumer:
    return Consumer(id=row.id, description=row.description, extra=dict(row.extra))


def _consumer_row(session: Session, consumer_id: str) -> models.Consumer:
    row = session.get(models.Consumer, consumer_id)
    if row is None:
        raise NotFound("Consumer not found")
    return row


def create_consumer(deps: Deps, description: str | None, extra: dict[str, JSON]) -> NewConsumer:
    secret = new_hex_id()

    def tx(session: Session) -> Consumer:
        row = models.Consumer(id=new_hex_id(), description=description, secret=secret, extra=extra)
        session.add(row)
        return _consumer(row)

    return NewConsumer(consumer=deps.db.write(tx), secret=secret)


def list_consumers(deps: Deps) -> list[Consumer]:
    with deps.db.reader() as session:
        return [
            _consumer(r)
            for r in session.scalars(select(models.Consumer).order_by(models.Consumer.id))
        ]


def show_consumer(deps: Deps, consumer_id: str) -> Consumer:
    with deps.db.reader() as session:
        return _consumer(_consumer_row(session, consumer_id))


def update_consumer(
    deps: Deps,
    consumer_id: str,
    description: str | None,
    has_description: bool,
    extra: dict[str, JSON],
) -> Consumer:
    def tx(session: Session) -> Consumer:
        row = _consumer_row(session, consumer_id)
        if has_description:
            row.description = description
        if extra:
            row.extra = {**row.extra, **extra}
        return _consumer(row)

    return deps.db.write(tx)


def delete_consumer(deps: Deps, consumer_id: str) -> None:
    def tx(session: Session) -> list[RevocationEvent]:
        row = _consumer_row(session, consumer_id)
        session.execute(
            delete(models.RequestToken).where(models.RequestToken.consumer_id == consumer_id)
        )
        session.execute(
            delete(models.AccessToken).where(models.AccessToken.consumer_id == consumer_id)
        )
        session.delete(row)
        return [revoke.record(session, consumer_id=consumer_id)]

    revoke.publish(deps, deps.db.write(tx))


# -- request tokens, authorization, access tokens --------------------------------------------


def create_request_token(deps: Deps, signed: SignedRequest, project_id: str | None) -> IssuedSecret:
    params = signed.oauth_params()
    consumer_id = params.get("oauth_consumer_key")
    if not consumer_id:
        raise ValidationError("Expecting to find oauth_consumer_key in request.")
    if not project_id:
        raise ValidationError("Expecting to find Requested-Project-Id in request.")
    with deps.db.reader() as session:
        _rows.project(session, project_id)
        consumer = _consumer_row(session, consumer_id)
        client_secret = consumer.secret
    if not _verify(signed, client_secret, None):
        raise Unauthorized("Invalid signature")
    token = IssuedSecret(
        key=new_hex_id(),
        secret=new_hex_id(),
        expires_at=_expiry(deps.opts.oauth1_request_token_duration),
    )

    def tx(session: Session) -> None:
        session.add(
            models.RequestToken(
                id=token.key,
                request_secret=token.secret,
                requested_project_id=project_id,
                consumer_id=consumer_id,
                expires_at=token.expires_at,
            )
        )

    deps.db.write(tx)
    return token


def _role_ids(session: Session, specs: list[RoleSpec]) -> set[str]:
    found: set[str] = set()
    for spec in specs:
        if "id" in spec:
            found.add(_rows.role(session, spec["id"]).id)
        else:
            named = _rows.role_by_name(session, spec.get("name", ""))
            if named is None:
                raise NotFound(f"Could not find role: {spec.get('name')}.")
            found.add(named.id)
    return found


def authorize_request_token(
    deps: Deps, ctx: RequestContext, request_token_id: str, specs: list[RoleSpec]
) -> str:
    """The authorizing user (the caller) grants roles it has on the project; a verifier."""
    token = ctx.payload
    assert token is not None
    if _delegated(token):
        raise Forbidden("Cannot authorize a request token with a token issued via delegation.")
    verifier = "".join(secrets.choice(VERIFIER_CHARS) for _ in range(8))

    def tx(session: Session) -> str:
        row = session.get(models.RequestToken, request_token_id)
        if row is None:
            raise NotFound("Request token not found")
        if _expired(row.expires_at):
            raise Unauthorized("Request token is expired")
        wanted = _role_ids(session, specs)
        held = grants.effective_role_ids(
            session, token.user_id, project_id=row.requested_project_id
        )
        if not wanted <= held:
            raise Unauthorized("authorizing user does not have role required")
        row.authorizing_user_id = token.user_id
        row.verifier = verifier
        row.role_ids = sorted(wanted)
        return verifier

    return deps.db.write(tx)


def create_access_token(deps: Deps, signed: SignedRequest) -> IssuedSecret:
    params = signed.oauth_params()
    for name in ("oauth_consumer_key", "oauth_token", "oauth_verifier"):
        if not params.get(name):
            raise ValidationError(f"Expecting to find {name} in request.")
    consumer_id, request_token_id = params["oauth_consumer_key"], params["oauth_token"]
    with deps.db.reader() as session:
        req = session.get(models.RequestToken, request_token_id)
        if req is None:
            raise NotFound("Request token not found")
        if _expired(req.expires_at):
            raise Unauthorized("Request token is expired")
        consumer = session.get(models.Consumer, consumer_id)
        if consumer is None:
            raise Unauthorized("Provided consumer does not exist.")
        if req.consumer_id != consumer_id:
            raise Unauthorized("Provided consumer key does not match stored consumer key.")
        if not secrets.compare_digest(req.verifier or "", params["oauth_verifier"]):
            raise Unauthorized("Provided verifier does not match stored verifier")
        client_secret, token_secret = consumer.secret, req.request_secret
    if not _verify(signed, client_secret, token_secret):
        raise Unauthorized("Invalid signature")
    issued = IssuedSecret(
        key=new_hex_id(),
        secret=new_hex_id(),
        expires_at=_expiry(deps.opts.oauth1_access_token_duration),
    )

    def tx(session: Session) -> None:
        # The request token is spent in the same transaction: a second exchange finds none.
        row = session.get(models.RequestToken, request_token_id)
        if row is None:
            raise NotFound("Request token not found")
        if not row.authorizing_user_id:
            raise Unauthorized("Request Token does not have an authorizing user id.")
        session.add(
            models.AccessToken(
                id=issued.key,
                access_secret=issued.secret,
                authorizing_user_id=row.authorizing_user_id,
                project_id=row.requested_project_id,
                role_ids=list(row.role_ids or []),
                consumer_id=row.consumer_id,
                expires_at=issued.expires_at,
            )
        )
        session.delete(row)

    deps.db.write(tx)
    return issued


# -- a user's access tokens ------------------------------------------------------------------


def _access_token(row: models.AccessToken) -> AccessToken:
    return AccessToken(
        id=row.id,
        consumer_id=row.consumer_id,
        authorizing_user_id=row.authorizing_user_id,
        project_id=row.project_id,
        role_ids=tuple(row.role_ids),
        expires_at=row.expires_at,
    )


def _users_token(session: Session, user_id: str, access_token_id: str) -> models.AccessToken:
    row = session.get(models.AccessToken, access_token_id)
    if row is None or row.authorizing_user_id != user_id:
        raise NotFound("Access token not found")
    return row


def _not_delegated(ctx: RequestContext) -> None:
    assert ctx.payload is not None
    if _delegated(ctx.payload):
        raise Forbidden("Cannot manage OAuth access tokens with a token issued via delegation.")


def list_access_tokens(deps: Deps, ctx: RequestContext, user_id: str) -> list[AccessToken]:
    _not_delegated(ctx)
    with deps.db.reader() as session:
        query = select(models.AccessToken).where(models.AccessToken.authorizing_user_id == user_id)
        return [_access_token(r) for r in session.scalars(query.order_by(models.AccessToken.id))]


def show_access_token(deps: Deps, ctx: RequestContext, user_id: str, token_id: str) -> AccessToken:
    _not_delegated(ctx)
    with deps.db.reader() as session:
        return _access_token(_users_token(session, user_id, token_id))


def delete_access_token(deps: Deps, ctx: RequestContext, user_id: str, token_id: str) -> None:
    _not_delegated(ctx)

    def tx(session: Session) -> list[RevocationEvent]:
        session.delete(_users_token(session, user_id, token_id))
        return [revoke.record(session, access_token_id=token_id)]

    revoke.publish(deps, deps.db.write(tx))


def access_token_roles(deps: Deps, user_id: str, token_id: str) -> list[Role]:
    with deps.db.reader() as session:
        row = _users_token(session, user_id, token_id)
        found = [session.get(models.Role, r) for r in row.role_ids]
        return [convert.role(r) for r in found if r is not None]


def access_token_role(deps: Deps, user_id: str, token_id: str, role_id: str) -> Role:
    for role in access_token_roles(deps, user_id, token_id):
        if role.id == role_id:
            return role
    raise NotFound(f"Could not find role: {role_id}.")


def purge_for_user(session: Session, user_id: str) -> None:
    """Drop a deleted user's access tokens and the request tokens it authorized."""
    session.execute(
        delete(models.AccessToken).where(models.AccessToken.authorizing_user_id == user_id)
    )
    session.execute(
        delete(models.RequestToken).where(models.RequestToken.authorizing_user_id == user_id)
    )


# -- the oauth1 auth method ------------------------------------------------------------------


def grant_for(session: Session, signed: SignedRequest) -> OAuthGrant:
    """Authenticate a request signed with an access token: the token's user, project, roles."""
    params = signed.oauth_params()
    token_id = params.get("oauth_token")
    if not token_id:
        raise ValidationError("Expecting to find oauth_token in request.")
    row = session.get(models.AccessToken, token_id)
    if row is None:
        raise NotFound("Access token not found")
    if _expired(row.expires_at):
        raise Unauthorized("Access token is expired")
    consumer = session.get(models.Consumer, row.consumer_id)
    if consumer is None or params.get("oauth_consumer_key") != consumer.id:
        raise Unauthorized("Could not validate the access token")
    if not _verify(signed, consumer.secret, row.access_secret):
        raise Unauthorized("Could not validate the access token")
    delegated = roles.expand(session, set(row.role_ids))
    held = grants.effective_role_ids(session, row.authorizing_user_id, project_id=row.project_id)
    granted = delegated & held
    if not granted:
        raise Unauthorized(
            f"User {row.authorizing_user_id} has no access to project {row.project_id}"
        )
    return OAuthGrant(
        user_id=row.authorizing_user_id,
        project_id=row.project_id,
        roles=tuple(grants.role_pairs(session, granted)),
        oauth=OAuthScope(access_token_id=row.id, consumer_id=row.consumer_id),
        expires_at=row.expires_at.replace(tzinfo=UTC).timestamp() if row.expires_at else None,
    )
