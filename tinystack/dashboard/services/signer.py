"""The session cookie: the session record, signed (HMAC-SHA256) with a key derived from
the dashboard's secret in the cloud's ``secrets.json``, so it survives restarts and
cannot be forged or altered; it carries its own expiry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from tinystack.dashboard.exception import SessionInvalid
from tinystack.dashboard.services.records import Session

EXPIRED = "The token has expired."
INVALID = "Token not found."


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"tinystack-dashboard-session\0" + secret.encode()).digest()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def dumps(self, session: Session) -> str:
        fields = {"t": session.token, "r": session.region, "e": session.expires, "u": session.uuid}
        body = _b64(json.dumps(fields, separators=(",", ":")).encode())
        return f"{body}.{self._mac(body)}"

    def loads(self, cookie: str, now: float | None = None) -> Session:
        """The session of a cookie; SessionInvalid when forged, malformed or expired."""
        body, _, mac = cookie.partition(".")
        if not body or not hmac.compare_digest(mac, self._mac(body)):
            raise SessionInvalid(INVALID)
        try:
            fields = json.loads(_unb64(body))
            session = Session(
                str(fields["t"]), str(fields["r"]), int(fields["e"]), str(fields["u"])
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise SessionInvalid(INVALID) from exc
        if session.expires <= (time.time() if now is None else now):
            raise SessionInvalid(EXPIRED)
        return session
