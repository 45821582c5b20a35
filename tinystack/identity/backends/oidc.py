"""Validation of OpenID Connect access tokens (signed JWTs) for federated authentication.

The issuer (``iss``) must be one the identity provider lists as a remote id; its
discovery document (``<iss>/.well-known/openid-configuration``) names the JWKS whose
key (by ``kid``) must verify the signature; ``exp``/``nbf``/``iat`` are checked with a
short leeway, and the audience when one is configured. Discovery documents and key sets
are cached per issuer and re-read once when a token names an unknown key.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from typing import Any

import httpx
import jwt

from tinystack.common.exceptions import Unauthorized

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
LEEWAY = 30
CACHE_SECONDS = 300.0
TIMEOUT = 10.0


class InvalidToken(Unauthorized):
    def __init__(self, reason: str) -> None:
        super().__init__(f"The OpenID Connect token is not valid: {reason}.")


class OidcVerifier:
    """Verifies tokens of any issuer it is told to trust; safe to share between threads."""

    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._keys: dict[str, tuple[float, jwt.PyJWKSet]] = {}

    def issuer_of(self, token: str) -> str:
        """The token's ``iss``, unverified (to pick the identity provider and its keys)."""
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise InvalidToken("it names no issuer")
        return issuer

    def _fetch_keys(self, issuer: str) -> jwt.PyJWKSet:
        try:
            with httpx.Client(timeout=TIMEOUT) as http:
                meta = http.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
                meta.raise_for_status()
                jwks_uri = meta.json().get("jwks_uri")
                if not isinstance(jwks_uri, str):
                    raise InvalidToken("the issuer's discovery document names no jwks_uri")
                keys = http.get(jwks_uri)
                keys.raise_for_status()
                return jwt.PyJWKSet.from_dict(keys.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            raise InvalidToken(f"the issuer's keys cannot be read ({exc})") from exc

    def _keyset(self, issuer: str, refresh: bool) -> jwt.PyJWKSet:
        now = time.monotonic()
        with self._lock:
            hit = self._keys.get(issuer)
        if hit is not None and hit[0] > now and not refresh:
            return hit[1]
        keys = self._fetch_keys(issuer)
        with self._lock:
            self._keys[issuer] = (now + self.ttl, keys)
        return keys

    def _key(self, issuer: str, kid: str | None) -> jwt.PyJWK:
        for refresh in (False, True):
            keys = self._keyset(issuer, refresh)
            for key in keys.keys:
                if kid is None or key.key_id == kid:
                    return key
        raise InvalidToken("no key of the issuer matches its key id")

    def claims(self, token: str, issuers: Collection[str], audience: str = "") -> dict[str, Any]:
        """The verified claims of ``token``, issued by one of ``issuers``."""
        issuer = self.issuer_of(token)
        if issuer not in issuers:
            raise InvalidToken("its issuer is not this identity provider")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken(f"algorithm {header.get('alg')} is not accepted")
        key = self._key(issuer, header.get("kid"))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[str(header["alg"])],
                issuer=issuer,
                audience=audience or None,
                leeway=LEEWAY,
                options={"verify_aud": bool(audience), "require": ["exp", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        return claims
