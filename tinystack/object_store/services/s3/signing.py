"""AWS request signatures as S3 receives them: what the client signed (the string to sign)
for Signature Version 2 and 4, in the Authorization header or in the query (presigned
URLs), and the signatures of aws-chunked bodies' chunks and trailers.

The string to sign and the signature go to identity's ``/v3/s3tokens``, which knows the
secret; the chunk signatures are checked here with the signing key derived from the
secret (see ``auth.py``)."""

from __future__ import annotations

import calendar
import email.utils
import hashlib
import hmac
import re
import time
import urllib.parse
from dataclasses import dataclass

from tinystack.object_store.services.s3.errors import S3Error

V4 = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
#: longest a presigned V4 URL may live (7 days) and the clock skew S3 allows
MAX_EXPIRES = 604800
MAX_SKEW = 900
#: the query parameters SigV2 signs (its "sub-resources")
V2_SUBRESOURCES = frozenset((
    "acl", "cors", "delete", "lifecycle", "location", "logging", "notification", "partNumber",
    "policy", "requestPayment", "restore", "tagging", "torrent", "uploadId", "uploads",
    "versionId", "versioning", "versions", "website", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires",
))  # fmt: skip
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What a signature covers, as the request arrived."""

    method: str
    raw_path: str  # percent-encoded, as sent
    query: tuple[tuple[str, str], ...]  # decoded pairs, in order
    headers: tuple[tuple[str, str], ...]  # lower-case names
    #: the bucket when it came in the Host header (virtual-hosted style), for SigV2
    host_bucket: str = ""

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k == name]
        return ",".join(values) if values else None

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request's claim: who signed, what, and the signature."""

    version: int  # 2 or 4
    access_key: str
    signature: str
    string_to_sign: bytes
    #: V4 only: the amz date, the credential scope (date/region/service/aws4_request) and
    #: the payload hash the client declared (x-amz-content-sha256)
    amz_date: str = ""
    scope: str = ""
    payload_hash: str = UNSIGNED
    presigned: bool = False
    #: another string the client may have signed (SigV2 of ``/bucket``: botocore signs
    #: ``/bucket/``)
    alternative: bytes = b""

    def variants(self) -> tuple[SignedRequest, ...]:
        if not self.alternative:
            return (self,)
        other = SignedRequest(self.version, self.access_key, self.signature, self.alternative,
                              presigned=self.presigned)  # fmt: skip
        return (self, other)


def is_signed(facts: RequestFacts) -> bool:
    auth = facts.header("authorization") or ""
    if auth.startswith((V4 + " ", "AWS ")):
        return True
    return facts.param("X-Amz-Signature") is not None or (
        facts.param("Signature") is not None and facts.param("AWSAccessKeyId") is not None
    )


def parse(facts: RequestFacts, now: float | None = None) -> SignedRequest:
    """The signature the request carries and the string it signs; S3's errors for what
    cannot be one (AccessDenied, expired presigned URLs, skewed clocks)."""
    now = time.time() if now is None else now
    auth = facts.header("authorization") or ""
    if auth.startswith(V4 + " "):
        return _v4_header(facts, auth, now)
    if auth.startswith("AWS "):
        return _v2_header(facts, auth, now)
    if facts.param("X-Amz-Signature") is not None:
        return _v4_query(facts, now)
    if facts.param("Signature") is not None:
        return _v2_query(facts, now)
    raise S3Error("AccessDenied", "Anonymous requests are not supported")


# -- Signature Version 4 ---------------------------------------------------------------------
def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")


def canonical_uri(raw_path: str) -> str:
    return urllib.parse.quote(urllib.parse.unquote(raw_path), safe="/~")


def canonical_query(query: tuple[tuple[str, str], ...], skip: str = "") -> str:
    pairs = sorted((_quote(k), _quote(v)) for k, v in query if k != skip)
    return "&".join(f"{k}={v}" for k, v in pairs)


def _canonical_headers(facts: RequestFacts, signed: list[str]) -> str:
    lines = []
    for name in signed:
        value = facts.header(name)
        if value is None:
            raise S3Error("AccessDenied", f"Signed header {name} is missing")
        lines.append(f"{name}:{_SPACES.sub(' ', value.strip())}\n")
    return "".join(lines)


def _amz_time(text: str) -> float:
    try:
        return float(calendar.timegm(time.strptime(text, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or "
                      "x-amz-date header") from None  # fmt: skip


def _v4(
    facts: RequestFacts, credential: str, signed_headers: str, signature: str, amz_date: str,
    payload_hash: str, presigned: bool,
) -> SignedRequest:  # fmt: skip
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or parts[3] != "s3":
        raise S3Error("AuthorizationHeaderMalformed" if not presigned else "AuthorizationQuery"
                      "ParametersError", f"The credential is malformed: {credential}")  # fmt: skip
    if not amz_date.startswith(parts[1]):
        raise S3Error("SignatureDoesNotMatch", "The date of the credential scope does not "
                      "match the request's date")  # fmt: skip
    names = signed_headers.lower().split(";")
    if "host" not in names:
        raise S3Error("AccessDenied", "The host header must be signed")
    canonical = "\n".join((
        facts.method, canonical_uri(facts.raw_path),
        canonical_query(facts.query, "X-Amz-Signature" if presigned else ""),
        _canonical_headers(facts, names), ";".join(names), payload_hash,
    ))  # fmt: skip
    scope = "/".join(parts[1:])
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = "\n".join((V4, amz_date, scope, digest)).encode()
    return SignedRequest(4, parts[0], signature, to_sign, amz_date, scope, payload_hash,
                         presigned)  # fmt: skip


def _v4_header(facts: RequestFacts, auth: str, now: float) -> SignedRequest:
    fields = {}
    for item in auth[len(V4) :].split(","):
        key, _, value = item.strip().partition("=")
        fields[key] = value
    if not all(fields.get(k) for k in ("Credential", "SignedHeaders", "Signature")):
        raise S3Error("AuthorizationHeaderMalformed", "The authorization header is malformed")
    amz_date = facts.header("x-amz-date") or ""
    if not amz_date:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or "
                      "x-amz-date header")  # fmt: skip
    if abs(now - _amz_time(amz_date)) > MAX_SKEW:
        raise S3Error("RequestTimeTooSkewed")
    payload_hash = facts.header("x-amz-content-sha256")
    if payload_hash is None:
        raise S3Error("InvalidRequest", "Missing required header for this request: "
                      "x-amz-content-sha256")  # fmt: skip
    return _v4(facts, fields["Credential"], fields["SignedHeaders"], fields["Signature"],
               amz_date, payload_hash, False)  # fmt: skip


def _v4_query(facts: RequestFacts, now: float) -> SignedRequest:
    if facts.param("X-Amz-Algorithm") != V4:
        raise S3Error("AuthorizationQueryParametersError",
                      "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")  # fmt: skip
    amz_date = facts.param("X-Amz-Date") or ""
    expires = facts.param("X-Amz-Expires") or ""
    if not expires.isdigit() or int(expires) > MAX_EXPIRES:
        raise S3Error("AuthorizationQueryParametersError", "X-Amz-Expires must be a number "
                      f"of seconds up to {MAX_EXPIRES}")  # fmt: skip
    if now > _amz_time(amz_date) + int(expires):
        raise S3Error("AccessDenied", "Request has expired")
    return _v4(facts, facts.param("X-Amz-Credential") or "",
               facts.param("X-Amz-SignedHeaders") or "", facts.param("X-Amz-Signature") or "",
               amz_date, facts.header("x-amz-content-sha256") or UNSIGNED, True)  # fmt: skip


def signing_key(secret: str, scope: str) -> bytes:
    date, region, service, terminal = scope.split("/")
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, terminal):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def chunk_signature(key: bytes, signed: SignedRequest, previous: str, chunk_sha256: str) -> str:
    text = "\n".join(("AWS4-HMAC-SHA256-PAYLOAD", signed.amz_date, signed.scope, previous,
                      EMPTY_SHA256, chunk_sha256))  # fmt: skip
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def trailer_signature(key: bytes, signed: SignedRequest, previous: str, trailer: bytes) -> str:
    text = "\n".join(("AWS4-HMAC-SHA256-TRAILER", signed.amz_date, signed.scope, previous,
                      hashlib.sha256(trailer).hexdigest()))  # fmt: skip
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


# -- Signature Version 2 ---------------------------------------------------------------------
def _v2_resource(facts: RequestFacts) -> str:
    path = facts.raw_path
    if facts.host_bucket:
        path = f"/{facts.host_bucket}{path}"
    subs = sorted((k, v) for k, v in facts.query if k in V2_SUBRESOURCES)
    if subs:
        path += "?" + "&".join(f"{k}={v}" if v else k for k, v in subs)
    return path


def _v2_strings(facts: RequestFacts, date: str) -> tuple[bytes, bytes]:
    """The string to sign, and its variant with ``/bucket/`` for a bucket's path-style
    ``/bucket`` (or b"")."""
    first = _v2_string(facts, date)
    path = facts.raw_path
    if facts.host_bucket or path.count("/") != 1 or len(path) < 2:
        return first, b""
    slashed = RequestFacts(facts.method, path + "/", facts.query, facts.headers)
    return first, _v2_string(slashed, date)


def _v2_string(facts: RequestFacts, date: str) -> bytes:
    amz = sorted((k, v) for k, v in facts.headers if k.startswith("x-amz-"))
    merged: dict[str, list[str]] = {}
    for key, value in amz:
        merged.setdefault(key, []).append(value.strip())
    lines = [facts.method, facts.header("content-md5") or "", facts.header("content-type") or "",
             date]  # fmt: skip
    lines += [f"{k}:{','.join(v)}" for k, v in merged.items()]
    lines.append(_v2_resource(facts))
    return "\n".join(lines).encode()


def _v2_header(facts: RequestFacts, auth: str, now: float) -> SignedRequest:
    access, _, signature = auth[4:].strip().rpartition(":")
    if not access or not signature:
        raise S3Error("AccessDenied", "AWS authorization header is invalid")
    date = facts.header("date") or ""
    stamp = facts.header("x-amz-date") or date
    parsed = email.utils.parsedate_tz(stamp) if stamp else None
    if parsed is None:
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or "
                      "x-amz-date header")  # fmt: skip
    when = email.utils.mktime_tz(parsed)
    if abs(now - when) > MAX_SKEW:
        raise S3Error("RequestTimeTooSkewed")
    signed_date = "" if facts.header("x-amz-date") else date
    first, other = _v2_strings(facts, signed_date)
    return SignedRequest(2, access, signature, first, alternative=other)


def _v2_query(facts: RequestFacts, now: float) -> SignedRequest:
    expires = facts.param("Expires") or ""
    if not expires.isdigit():
        raise S3Error("AccessDenied", "Query-string authentication requires the Signature, "
                      "Expires and AWSAccessKeyId parameters")  # fmt: skip
    if now > int(expires):
        raise S3Error("AccessDenied", "Request has expired")
    first, other = _v2_strings(facts, expires)
    return SignedRequest(2, facts.param("AWSAccessKeyId") or "", facts.param("Signature") or "",
                         first, presigned=True, alternative=other)  # fmt: skip
