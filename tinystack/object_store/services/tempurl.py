"""Temporary URLs, as Swift's tempurl middleware checks them: an HMAC (sha1, sha256 or
sha512; hex, or ``<alg>:<base64>``) over ``[ip=<range>\\n]<METHOD>\\n<expires>\\n<path>``
with one of the account's (``X-Account-Meta-Temp-URL-Key[-2]``) or the container's
(``X-Container-Meta-Temp-URL-Key[-2]``) keys. ``path`` is ``/v1/<account>/<container>/
<object>``, or ``prefix:/v1/<account>/<container>/<prefix>`` for every object under a
prefix (``temp_url_prefix``). A HEAD may use a GET, POST or PUT signature."""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import hmac
import ipaddress
import time
from dataclasses import dataclass

from tinystack.object_store.services import accounts, containers
from tinystack.object_store.services.deps import Deps

DIGESTS = ("sha1", "sha256", "sha512")
METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
_HEX_LENGTHS = {40: "sha1", 64: "sha256", 128: "sha512"}
ACCOUNT, CONTAINER = "account", "container"
ISO8601 = "%Y-%m-%dT%H:%M:%SZ"
KEY_NAMES = ("temp-url-key", "temp-url-key-2")


@dataclass(frozen=True, slots=True)
class TempURLRequest:
    """What a request presents: its method and path, and the query's temp URL fields."""

    method: str
    account: str
    container: str
    obj: str
    signature: str
    expires: str
    prefix: str | None = None
    ip_range: str | None = None
    client_ip: str | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """A valid temp URL: the account, and the container when a container key signed it."""

    account: str
    container: str | None
    expires: int

    def allows(self, account: str, container: str) -> bool:
        return account == self.account and self.container in (None, container)


def expires_at(value: str) -> int:
    """Epoch seconds (an integer or ``%Y-%m-%dT%H:%M:%SZ``); 0 when invalid or past."""
    try:
        when = int(value)
    except ValueError:
        try:
            when = calendar.timegm(time.strptime(value, ISO8601))
        except ValueError:
            return 0
    return when if when >= time.time() else 0


def split_signature(value: str) -> tuple[str, str]:
    """(algorithm, hex digest) of a signature; ValueError when malformed."""
    if ":" in value:
        algorithm, encoded = value.split(":", 1)
        if ("-" in encoded or "_" in encoded) and not ("+" in encoded or "/" in encoded):
            encoded = encoded.replace("-", "+").replace("_", "/")
        padded = encoded + "=" * (-len(encoded) % 4)
        try:
            raw = base64.b64decode(padded, validate=True)
        except binascii.Error as exc:
            raise ValueError("bad base64 digest") from exc
        return algorithm, raw.hex()
    bytes.fromhex(value)
    if len(value) not in _HEX_LENGTHS:
        raise ValueError("bad digest length")
    return _HEX_LENGTHS[len(value)], value.lower()


def signature(
    algorithm: str, key: str, method: str, expires: str, path: str, ip_range: str | None = None
) -> str:
    parts = [method, expires, path]
    if ip_range:
        parts.insert(0, f"ip={ip_range}")
    message = "\n".join(parts).encode()
    return hmac.new(key.encode(), message, getattr(hashlib, algorithm)).hexdigest()


def _keys(headers: dict[str, str], kind: str) -> list[str]:
    names = {f"x-{kind}-meta-{name}" for name in KEY_NAMES}
    return [v for k, v in headers.items() if k.lower() in names and v]


def keys(deps: Deps, account: str, container: str, fresh: bool = False) -> list[tuple[str, str]]:
    """(key, scope) of the account's keys, then the container's (as the proxy knows
    them, or ``fresh`` from the container servers)."""
    found = [(k, ACCOUNT) for k in _keys(accounts.head(deps, account).headers, "account")]
    if container:
        head = containers.head if fresh else containers.cached_head
        reply = head(deps, account, container)
        if reply.status < 300:
            found += [(k, CONTAINER) for k in _keys(reply.headers, "container")]
    return found


def _in_range(ip_range: str, client_ip: str | None) -> bool:
    if client_ip is None:
        return False
    try:
        return ipaddress.ip_address(client_ip) in ipaddress.ip_network(ip_range)
    except ValueError:
        return False


def verify(deps: Deps, req: TempURLRequest) -> Grant | None:
    """The grant of a valid temp URL; None (401) otherwise."""
    expires = expires_at(req.expires) if req.expires else 0
    if not req.signature or not expires or req.method not in METHODS:
        return None
    try:
        algorithm, presented = split_signature(req.signature)
    except ValueError:
        return None
    if algorithm not in DIGESTS or not req.container:
        return None
    container_root = req.method in ("GET", "HEAD") and req.prefix == ""
    if not req.obj.strip("/") and not container_root:
        return None
    if req.ip_range and not _in_range(req.ip_range, req.client_ip):
        return None
    base = f"/v1/{req.account}/{req.container}/"
    if req.prefix is None:
        path = base + req.obj
    elif req.obj.startswith(req.prefix):
        path = "prefix:" + base + req.prefix
    else:
        return None
    methods = ("HEAD", "GET", "POST", "PUT") if req.method == "HEAD" else (req.method,)
    for fresh in (False, True):  # a key set since the proxy last asked: ask again
        for key, scope in keys(deps, req.account, req.container, fresh):
            for method in methods:
                expected = signature(algorithm, key, method, str(expires), path, req.ip_range)
                if hmac.compare_digest(expected, presented):
                    container = req.container if scope == CONTAINER else None
                    return Grant(req.account, container, expires)
    return None
