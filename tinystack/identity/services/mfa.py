"""Multi-factor authentication: the ``totp`` method, per-user MFA rules and auth receipts.

- ``totp``: a passcode (RFC 6238: HMAC-SHA1, 30-second steps, 6 digits) that one of the
  user's ``totp`` credentials (its blob is the base32 secret) generates now, one step
  before or one step after (clock skew).
- Rules: ``options.multi_factor_auth_rules`` is a list of method lists; unless
  ``options.multi_factor_auth_enabled`` is false, a token needs the methods of one rule
  (rules naming no method identity knows are ignored, as upstream, so that a bad rule
  cannot lock a user out).
- Receipts: when the methods that succeeded satisfy no rule, the answer is 401 with an
  ``Openstack-Auth-Receipt`` header (a Fernet-encrypted receipt with the user and the
  methods done, valid ``RECEIPT_SECONDS``) and a body listing the rules; a follow-up
  request with the receipt and the missing methods completes the authentication.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgpack
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.twofactor import InvalidToken as InvalidPasscode
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import select
from sqlalchemy.orm import Session

from tinystack.common.exceptions import Unauthorized, ValidationError
from tinystack.common.timeutils import from_timestamp, isotime_micro
from tinystack.identity import models
from tinystack.identity.exception import AuthFailed
from tinystack.identity.services import credentials
from tinystack.identity.services.deps import Deps
from tinystack.identity.services.records import JSONObject

TOTP_TYPE = "totp"
PASSCODE_LENGTH = 6
TIME_STEP = 30
#: steps of clock skew accepted either side
WINDOW = 1
#: Keystone's [receipt] expiration default
RECEIPT_SECONDS = 300
RECEIPT_HEADER = "Openstack-Auth-Receipt"
RECEIPT_MARK = "receipt"


# -- totp ------------------------------------------------------------------------------------


def _secret_bytes(secret: str) -> bytes:
    cleaned = secret.strip().replace(" ", "").upper()
    cleaned += "=" * (-len(cleaned) % 8)
    return base64.b32decode(cleaned)


def passcode(secret: str, at: float | None = None) -> str:
    """The passcode a base32 secret gives at ``at`` (now by default)."""
    totp = TOTP(_secret_bytes(secret), PASSCODE_LENGTH, hashes.SHA1(), TIME_STEP)
    return totp.generate(time.time() if at is None else at).decode()


def _accepts(secret: str, code: str, now: float) -> bool:
    try:
        totp = TOTP(_secret_bytes(secret), PASSCODE_LENGTH, hashes.SHA1(), TIME_STEP)
    except (ValueError, TypeError):
        return False  # not a base32 secret
    for step in range(-WINDOW, WINDOW + 1):
        try:
            totp.verify(code.encode(), int(now) + step * TIME_STEP)
            return True
        except InvalidPasscode:
            continue
    return False


def _totp_user_row(session: Session, ref: Any) -> models.User:
    if not isinstance(ref, dict):
        raise ValidationError("totp authentication requires a user")
    if isinstance(ref.get("id"), str):
        user = session.get(models.User, ref["id"])
    elif isinstance(ref.get("name"), str) and isinstance(ref.get("domain"), dict):
        domain_ref = ref["domain"]
        query = select(models.Domain.id)
        if isinstance(domain_ref.get("id"), str):
            query = query.where(models.Domain.id == domain_ref["id"])
        else:
            query = query.where(models.Domain.name == domain_ref.get("name"))
        domain_id = session.scalars(query).first()
        user = session.scalars(
            select(models.User).where(
                models.User.name == ref["name"], models.User.domain_id == domain_id
            )
        ).first()
    else:
        raise ValidationError("A user reference needs an id, or a name and a domain.")
    if user is None:
        raise AuthFailed()
    return user


def totp_user(deps: Deps, session: Session, data: Any) -> str:
    """The user a ``totp`` method's passcode authenticates (401 otherwise)."""
    ref = data.get("user") if isinstance(data, dict) else None
    user = _totp_user_row(session, ref)
    assert isinstance(ref, dict)
    code = ref.get("passcode")
    if not isinstance(code, str):
        raise ValidationError("totp authentication requires a passcode")
    rows = session.scalars(
        select(models.Credential).where(
            models.Credential.user_id == user.id, models.Credential.type == TOTP_TYPE
        )
    )
    now = time.time()
    for row in rows:
        try:
            secret = credentials.decrypt(deps.credential_keys, row.encrypted_blob)
        except ValidationError:
            continue
        if _accepts(secret, code, now):
            return user.id
    raise Unauthorized("Invalid username or TOTP passcode")


# -- rules -----------------------------------------------------------------------------------


def rules_of(options: JSONObject) -> list[list[str]]:
    """A user's MFA rules, as upstream parses them (malformed rules are dropped)."""
    raw = options.get("multi_factor_auth_rules") or []
    if not isinstance(raw, list):
        return []
    rules: list[list[str]] = []
    for rule in raw:
        if isinstance(rule, list) and rule and all(isinstance(m, str) for m in rule):
            rules.append(list(dict.fromkeys(str(m) for m in rule)))
    return rules


def check_rules_option(value: Any) -> None:
    """400 unless ``multi_factor_auth_rules`` is a list of non-empty lists of method names
    without duplicates (upstream's schema)."""
    if value is None:
        return
    if not isinstance(value, list):
        raise ValidationError("multi_factor_auth_rules must be a list of lists of methods.")
    for rule in value:
        if (
            not isinstance(rule, list)
            or not rule
            or not all(isinstance(m, str) and m for m in rule)
            or len(set(rule)) != len(rule)
        ):
            raise ValidationError(
                "Each rule of multi_factor_auth_rules must be a non-empty list of distinct "
                "method names."
            )


def satisfied(options: JSONObject, methods: Iterable[str], known: Iterable[str]) -> bool:
    """Whether ``methods`` satisfy the user's MFA rules (upstream's check)."""
    rules = rules_of(options)
    if not rules or options.get("multi_factor_auth_enabled", True) is False:
        return True
    loaded, done = set(known), set(methods)
    any_valid = False
    for rule in rules:
        valid = set(rule) & loaded
        if valid:
            any_valid = True
            if done >= valid:
                return True
    return not any_valid


# -- receipts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Receipt:
    user_id: str
    methods: tuple[str, ...]
    issued_at: float
    expires_at: float


class ReceiptRequired(Unauthorized):
    """More methods are needed: the 401 that carries an auth receipt."""

    def __init__(self, receipt_id: str, body: dict[str, Any]) -> None:
        super().__init__("Additional authentications steps required.")
        self.receipt_id = receipt_id
        self.body = body


def _encode(deps: Deps, receipt: Receipt) -> str:
    wire = [
        RECEIPT_MARK,
        receipt.user_id,
        list(receipt.methods),
        receipt.issued_at,
        receipt.expires_at,
    ]
    token = deps.codec.keys.fernet().encrypt(msgpack.packb(wire, use_bin_type=True))
    return token.decode().rstrip("=")


def decode(deps: Deps, receipt_id: str) -> Receipt:
    """A receipt from its header value (401 when it is not one, or expired)."""
    failed = Unauthorized(f"Could not find auth receipt: {receipt_id[:64]}.")
    padded = receipt_id + "=" * (-len(receipt_id) % 4)
    try:
        wire = msgpack.unpackb(deps.codec.keys.fernet().decrypt(padded.encode()), raw=False)
    except (InvalidToken, ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError):
        raise failed from None
    if not isinstance(wire, list) or len(wire) != 5 or wire[0] != RECEIPT_MARK:
        raise failed
    receipt = Receipt(str(wire[1]), tuple(str(m) for m in wire[2]), float(wire[3]), float(wire[4]))
    if receipt.expires_at < time.time():
        raise failed
    return receipt


def _user_ref(session: Session, user_id: str) -> dict[str, Any]:
    user = session.get(models.User, user_id)
    assert user is not None
    domain = session.get(models.Domain, user.domain_id)
    return {
        "id": user.id,
        "name": user.name,
        "domain": {"id": user.domain_id, "name": domain.name if domain else None},
    }


def enforce(
    deps: Deps,
    session: Session,
    user_id: str,
    methods: tuple[str, ...],
    receipt: Receipt | None,
    known: Iterable[str],
) -> tuple[str, ...]:
    """The methods of a complete authentication (with the receipt's), or
    :class:`ReceiptRequired` when they satisfy none of the user's rules."""
    if receipt is not None:
        if receipt.user_id != user_id:
            raise Unauthorized("The auth receipt was issued to another user.")
        methods = tuple(dict.fromkeys([*receipt.methods, *methods]))
    user = session.get(models.User, user_id)
    assert user is not None
    options = dict(user.options or {})
    if satisfied(options, methods, known):
        return methods
    now = time.time()
    issued = Receipt(user_id, methods, now, now + RECEIPT_SECONDS)
    body = {
        "receipt": {
            "methods": list(methods),
            "user": _user_ref(session, user_id),
            "expires_at": isotime_micro(from_timestamp(issued.expires_at)),
            "issued_at": isotime_micro(from_timestamp(issued.issued_at)),
        },
        "required_auth_methods": rules_of(options),
    }
    raise ReceiptRequired(_encode(deps, issued), body)
