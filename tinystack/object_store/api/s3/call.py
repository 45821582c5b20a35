"""One S3 request as its handlers see it: the bucket and key (path-style ``/bucket/key`` or
virtual-hosted ``bucket.<domain>``), the query, the signature it carries and who signed."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from starlette.requests import Request

from tinystack.common.auth.context import RequestContext
from tinystack.object_store.api.headers import MAX_OBJECT_NAME
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.objects import ObjectPath
from tinystack.object_store.services.s3.auth import S3Identity
from tinystack.object_store.services.s3.errors import S3Error
from tinystack.object_store.services.s3.signing import RequestFacts, SignedRequest


def _query(raw: bytes) -> tuple[tuple[str, str], ...]:
    """Decoded pairs as sent (``+`` stays a plus: S3 signs percent-encoding only)."""
    pairs = []
    for item in raw.decode("latin-1").split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        pairs.append((urllib.parse.unquote(key), urllib.parse.unquote(value)))
    return tuple(pairs)


def host_bucket(host: str, domains: tuple[str, ...]) -> str:
    name = host.rpartition(":")[0] if host.count(":") == 1 else host
    name = name.lower()
    for domain in domains:
        if name.endswith("." + domain):
            return name[: -len(domain) - 1]
    return ""


def facts(request: Request, domains: tuple[str, ...]) -> RequestFacts:
    scope = request.scope
    raw_path = scope.get("raw_path") or scope["path"].encode()
    headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1"))
                    for k, v in scope["headers"])  # fmt: skip
    host = next((v for k, v in headers if k == "host"), "")
    return RequestFacts(
        method=scope["method"], raw_path=raw_path.decode("latin-1").partition("?")[0],
        query=_query(scope.get("query_string", b"")), headers=headers,
        host_bucket=host_bucket(host, domains),
    )  # fmt: skip


@dataclass
class S3Call:
    request: Request
    deps: Deps
    facts: RequestFacts
    bucket: str
    key: str
    request_id: str
    signed: SignedRequest | None = None
    identity: S3Identity | None = None
    context: RequestContext | None = None

    @property
    def account(self) -> str:
        assert self.identity is not None
        return self.deps.opts.reseller_prefix + (self.identity.payload.project_id or "")

    @property
    def owner(self) -> str:
        assert self.identity is not None
        return self.identity.payload.project_id or ""

    @property
    def path(self) -> ObjectPath:
        return ObjectPath(self.account, self.bucket, self.key)

    @property
    def resource(self) -> str:
        return "/" + self.bucket + ("/" + self.key if self.key else "") if self.bucket else "/"

    def param(self, name: str) -> str | None:
        return self.facts.param(name)

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)


def target(facts: RequestFacts) -> tuple[str, str]:
    """(bucket, key) the request addresses ("" for none); InvalidURI for a path that is not
    UTF-8 once unquoted or holds a NUL, KeyTooLongError over Swift's object name limit."""
    try:
        path = urllib.parse.unquote_to_bytes(facts.raw_path).decode("utf-8")
    except UnicodeDecodeError:
        raise S3Error("InvalidURI", "Couldn't parse the specified URI.") from None
    if "\x00" in path:
        raise S3Error("InvalidURI", "Couldn't parse the specified URI.")
    if facts.host_bucket:
        bucket, key = facts.host_bucket, path[1:]
    else:
        bucket, _, key = path[1:].partition("/")
    if len(key.encode()) > MAX_OBJECT_NAME:
        raise S3Error("KeyTooLongError", MaxSizeAllowed=str(MAX_OBJECT_NAME))
    return bucket, key
