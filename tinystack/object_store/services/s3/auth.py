"""Who signed an S3 request: identity's ``/v3/s3tokens`` checks the signature of the string
to sign with the EC2 credential's secret and answers a project-scoped token, as Swift's
s3token middleware asks it.

The answer is cached per access key with the credential's secret (read once through
``/v3/users/{user}/credentials/OS-EC2/{access}`` with the service token, as s3token's
``secret_cache_duration`` does): later requests of the same key are checked here, and the
chunks of ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` bodies need the signing key anyway. A
signature the cached secret refuses is asked of identity again."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from dataclasses import dataclass

from tinystack.common.auth.tokens import TokenCodec, TokenPayload
from tinystack.common.clients.session import ClientError, Session
from tinystack.common.exceptions import NotFound
from tinystack.common.timeutils import TTLCache
from tinystack.object_store.services.s3.errors import S3Error
from tinystack.object_store.services.s3.signing import SignedRequest, signing_key

LOG = logging.getLogger(__name__)
#: seconds a verified key's secret and token are trusted without asking identity
SECRET_CACHE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class S3Identity:
    """The caller: identity's token for the key's project, and the key's secret."""

    token: str
    payload: TokenPayload
    secret: str


def local_signature(secret: str, signed: SignedRequest) -> str:
    if signed.version == 2:
        mac = hmac.new(secret.encode(), signed.string_to_sign, hashlib.sha1)
        return base64.b64encode(mac.digest()).decode()
    key = signing_key(secret, signed.scope)
    return hmac.new(key, signed.string_to_sign, hashlib.sha256).hexdigest()


class Authenticator:
    """Checks signed requests against identity; safe to share between threads."""

    def __init__(self, session: Session, codec: TokenCodec) -> None:
        self.session = session
        self.codec = codec
        self.cache: TTLCache[S3Identity] = TTLCache(SECRET_CACHE_SECONDS)

    def verify(self, signed: SignedRequest) -> S3Identity:
        cached = self.cache.get(signed.access_key)
        if cached is not None and cached.payload.expires_at > time.time() + 60:
            for variant in signed.variants():
                if hmac.compare_digest(local_signature(cached.secret, variant), signed.signature):
                    return cached
        *others, last = signed.variants()
        for variant in others:
            try:
                found = self._ask_identity(variant)
                break
            except S3Error as exc:
                if exc.code != "SignatureDoesNotMatch":
                    raise
        else:
            found = self._ask_identity(last)
        self.cache.put(signed.access_key, found)
        return found

    def _ask_identity(self, signed: SignedRequest) -> S3Identity:
        body = {"credentials": {
            "access": signed.access_key,
            "token": base64.urlsafe_b64encode(signed.string_to_sign).decode(),
            "signature": signed.signature,
        }}  # fmt: skip
        try:
            service_token = self.session.token()
            reply = self.session.request(
                "identity", "POST", "/s3tokens", json_body=body, token=service_token, ok=(200,)
            )
        except ClientError as exc:
            if exc.status == 404:
                raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=signed.access_key) from None
            if exc.status in (400, 401):
                raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=signed.access_key,
                              StringToSign=signed.string_to_sign.decode(errors="replace"),
                              SignatureProvided=signed.signature) from None  # fmt: skip
            LOG.warning("s3tokens: %s", exc)
            raise S3Error("ServiceUnavailable", "The identity service cannot be reached") from exc
        token = reply.headers.get("x-subject-token", "")
        try:
            payload = self.codec.decode(token)
        except NotFound:
            raise S3Error("AccessDenied", "Identity answered an invalid token") from None
        return S3Identity(token, payload, self._secret(payload.user_id, signed.access_key))

    def _secret(self, user_id: str, access: str) -> str:
        try:
            reply = self.session.request(
                "identity", "GET", f"/users/{user_id}/credentials/OS-EC2/{access}", ok=(200,)
            )
        except ClientError as exc:
            LOG.warning("cannot read the secret of EC2 key %s: %s", access, exc)
            return ""
        return str(reply.json().get("credential", {}).get("secret") or "")
