"""AWS request signatures as EC2 and S3 clients compute them (versions 1, 2 and 4).

``/v3/ec2tokens`` receives what the client signed (``access``, ``host``, ``verb``,
``path``, ``params``, ``headers``, ``body_hash``) and the ``signature``; these functions
recompute it with the credential's secret. ``/v3/s3tokens`` receives the string to sign
itself (base64) and checks a version 1 (HMAC-SHA1) or version 4 signature of it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Mapping

from tinystack.common.exceptions import Unauthorized

V4 = "AWS4-HMAC-SHA256"


class SignatureError(Unauthorized):
    """The request's signature cannot be computed from what it states (401)."""


def _utf8(value: object) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _canonical_query(params: Mapping[str, object]) -> str:
    pairs = [
        urllib.parse.quote(key, safe="") + "=" + urllib.parse.quote(_utf8(params[key]), safe="-_~")
        for key in sorted(params)
    ]
    return "&".join(pairs)


def _v1(secret: bytes, params: Mapping[str, object]) -> str:
    mac = hmac.new(secret, digestmod=hashlib.sha1)
    for key in sorted(params, key=str.lower):
        mac.update(key.encode())
        mac.update(_utf8(params[key]))
    return base64.b64encode(mac.digest()).decode()


def _v2(secret: bytes, params: Mapping[str, object], verb: str, host: str, path: str) -> str:
    method = str(params.get("SignatureMethod") or "HmacSHA256")
    digest = hashlib.sha1 if method == "HmacSHA1" else hashlib.sha256
    signed = {**params, "SignatureMethod": method}
    text = f"{verb}\n{host}\n{path}\n{_canonical_query(signed)}"
    return base64.b64encode(hmac.new(secret, text.encode(), digest).digest()).decode()


def _auth_param(headers: Mapping[str, str], params: Mapping[str, object], name: str) -> str:
    authorization = headers.get("Authorization")
    if authorization is not None:
        return authorization.partition(f"{name}=")[2].split(",")[0].strip()
    return str(params.get(f"X-Amz-{name}") or "")


def _v4(
    secret: bytes,
    params: Mapping[str, object],
    verb: str,
    path: str,
    headers: Mapping[str, str],
    body_hash: str,
) -> str:
    lowered = {k.lower().strip(): str(v).strip() for k, v in headers.items()}
    signed_headers = _auth_param(headers, params, "SignedHeaders")
    lines = [f"{h}:{lowered[h]}" for h in signed_headers.split(";") if h in lowered]
    query = "" if verb.upper() == "POST" else _canonical_query(params)
    canonical = "\n".join(
        (verb.upper(), path, query, "\n".join(lines) + "\n", signed_headers, body_hash)
    )
    credential = _auth_param(headers, params, "Credential").split("/")
    if len(credential) < 5:
        raise SignatureError("Invalid EC2 signature.")
    date = headers.get("X-Amz-Date") or str(params.get("X-Amz-Date") or "")
    if not date.startswith(credential[1]):
        raise SignatureError("Request date mismatch error")
    scope = "/".join(credential[1:])
    to_sign = "\n".join((V4, date, scope, hashlib.sha256(canonical.encode()).hexdigest()))
    key = _v4_key(secret, *(part.encode() for part in credential[1:4]))
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def _v4_key(secret: bytes, date: bytes, region: bytes, service: bytes) -> bytes:
    key = b"AWS4" + secret
    for part in (date, region, service, b"aws4_request"):
        key = hmac.new(key, part, hashlib.sha256).digest()
    return key


def _is_v4(params: Mapping[str, object], headers: Mapping[str, str]) -> bool:
    if str(headers.get("Authorization", "")).startswith(V4):
        return True
    return params.get("X-Amz-Algorithm") == V4


def ec2_signature(secret: str, credentials: Mapping[str, object]) -> str:
    """The signature of an EC2 (or S3) request described as ``/v3/ec2tokens`` receives it."""
    raw_params = credentials.get("params") or {}
    raw_headers = credentials.get("headers") or {}
    if not isinstance(raw_params, Mapping) or not isinstance(raw_headers, Mapping):
        raise SignatureError("Invalid EC2 signature.")
    # What the client sent is any JSON: sign its text, as the client signed the request's.
    params = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw_params.items()}
    headers = {str(k): str(v) for k, v in raw_headers.items()}
    verb, host, path = (str(credentials.get(k) or "") for k in ("verb", "host", "path"))
    version = params.get("SignatureVersion")
    key = secret.encode()
    if version == "0":
        return base64.b64encode(
            hmac.new(
                key, _utf8(f"{params.get('Action')}{params.get('Timestamp')}"), hashlib.sha1
            ).digest()
        ).decode()
    if version == "1":
        return _v1(key, params)
    if version == "2":
        return _v2(key, params, verb, host, path)
    if _is_v4(params, headers):
        body_hash = str(credentials.get("body_hash") or "")
        return _v4(key, params, verb, path, headers, body_hash)
    raise SignatureError(
        f"Unknown signature version: {version}"
        if version is not None
        else "Unexpected signature format"
    )


def s3_signature(secret: str, string_to_sign: bytes) -> str:
    """The signature of an S3 request's string to sign (v1 HMAC-SHA1 or v4)."""
    key = secret.encode()
    if not string_to_sign.startswith(b"AWS4"):
        return (
            base64.encodebytes(hmac.new(key, string_to_sign, hashlib.sha1).digest())
            .decode()
            .strip()
        )
    parts = string_to_sign.split(b"\n")
    if len(parts) != 4 or parts[0] != V4.encode():
        raise SignatureError("Invalid EC2 signature.")
    scope = parts[2].split(b"/")
    if len(scope) != 4 or scope[3] != b"aws4_request" or scope[2] not in (b"s3", b"iam", b"sts"):
        raise SignatureError("Invalid EC2 signature.")
    signing = _v4_key(key, scope[0], scope[1], scope[2])
    return hmac.new(signing, string_to_sign, hashlib.sha256).hexdigest()
