"""Symlinks, as Swift's symlink middleware: a zero-byte object whose sysmeta names a
target (``X-Symlink-Target: container/object``, optionally ``X-Symlink-Target-Account``);
GET and HEAD follow it (at most ``SYMLOOP_MAX`` links in a row) and answer with the
target plus ``Content-Location``; ``?symlink=get`` reads the link itself. A static link
(``X-Symlink-Target-Etag``) is checked against its target when created and when read.
Listings show links through the etag the container stores (``<etag>;
symlink_target=c/o; ...``, see api/listing)."""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Callable

from tinystack.object_store.services import objects
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.objects import ObjectPath
from tinystack.object_store.services.reads import Found, Refused, Target, fetch
from tinystack.object_store.services.records import Reply

SYMLOOP_MAX = 2
TARGET = "X-Object-Sysmeta-Symlink-Target"
TARGET_ACCOUNT = "X-Object-Sysmeta-Symlink-Target-Account"
TARGET_ETAG = "X-Object-Sysmeta-Symlink-Target-Etag"
TARGET_BYTES = "X-Object-Sysmeta-Symlink-Target-Bytes"
#: sysmeta -> what a client sees with ?symlink=get
SHOWN = {TARGET: "X-Symlink-Target", TARGET_ACCOUNT: "X-Symlink-Target-Account",
         TARGET_ETAG: "X-Symlink-Target-Etag", TARGET_BYTES: "X-Symlink-Target-Bytes"}  # fmt: skip
EMPTY_MD5 = hashlib.md5(b"", usedforsecurity=False).hexdigest()
OVERRIDE_ETAG = "X-Backend-Container-Update-Override-Etag"
FORM = "X-Symlink-Target header must be of the form <container name>/<object name>"

#: (account, container) -> raises when the caller may not read there
Authorize = Callable[[str, str], None]


def parse_target(path: ObjectPath, target: str, account: str | None) -> Target:
    """The link's target from its request headers (412/400 as Swift)."""
    value = urllib.parse.unquote(target)
    container, _, obj = value.partition("/")
    if value.startswith("/") or not container or not obj:
        raise Refused(412, FORM)
    if account is not None:
        account = urllib.parse.unquote(account)
        if not account or "/" in account:
            raise Refused(412, "Account name cannot contain slashes")
    found = Target(account or path.account, container, obj)
    if found.names == path.names:
        raise Refused(400, "Symlink cannot target itself")
    return found


def link_metadata(
    deps: Deps, path: ObjectPath, target_header: str, account_header: str | None,
    etag_header: str | None, content_type: str | None, authorize: Authorize | None,
) -> dict[str, str]:  # fmt: skip
    """The metadata of a new link (the object server stores the sysmeta; the container
    update carries the target for listings). A static link HEADs its target first."""
    target = parse_target(path, target_header, account_header)
    meta = {TARGET: urllib.parse.quote(f"{target.container}/{target.obj}")}
    if account_header is not None:
        meta[TARGET_ACCOUNT] = urllib.parse.quote(target.account)
    override = [EMPTY_MD5, f"symlink_target={meta[TARGET]}"]
    if account_header is not None:
        override.append(f"symlink_target_account={meta[TARGET_ACCOUNT]}")
    etag = (etag_header or "").strip().strip('"')
    if etag:
        if any(c in etag for c in ';"\\'):
            raise Refused(400, "Bad X-Symlink-Target-Etag format")
        if authorize is not None:
            authorize(target.account, target.container)
        found = _head_target(deps, target, etag)
        size = found.header("X-Object-Sysmeta-Slo-Size") or str(found.size)
        meta[TARGET_ETAG] = etag
        meta[TARGET_BYTES] = size
        override += [f"symlink_target_etag={etag}", f"symlink_target_bytes={size}"]
        slo_etag = found.header("X-Object-Sysmeta-Slo-Etag")
        if slo_etag:
            override.insert(1, f"slo_etag={slo_etag}")
        if not content_type:
            content_type = found.header("content-type")
    meta["Content-Type"] = content_type or "application/symlink"
    meta[OVERRIDE_ETAG] = "; ".join(override)
    return meta


def _head_target(deps: Deps, target: Target, etag: str) -> Found:
    location = {"Content-Location": _location(target)}
    found = fetch(deps, target, "HEAD", {"X-Backend-Ignore-Range-If-Metadata-Present": TARGET})
    if found.status == 404:
        raise Refused(409, "X-Symlink-Target does not exist", location)
    if found.status >= 300:
        raise Refused(found.status, "")
    link_etag = found.header(TARGET_ETAG)
    if link_etag is not None and link_etag != etag:  # a static link to a static link
        raise Refused(409, "X-Symlink-Target-Etag headers do not match", location)
    actual = link_etag or found.etag
    if actual != etag:
        raise Refused(
            409, f"Object Etag {actual!r} does not match X-Symlink-Target-Etag header {etag!r}",
            location,
        )  # fmt: skip
    return found


def _location(target: Target) -> str:
    return "/v1/" + "/".join(urllib.parse.quote(n) for n in target.names)


def is_link(found: Found) -> bool:
    return found.status < 300 and found.header(TARGET) is not None


def follow(
    deps: Deps, target: Target, found: Found, method: str, headers: dict[str, str],
    authorize: Authorize | None,
) -> tuple[Found, Target, str]:  # fmt: skip
    """Follow links from ``found`` (the reply for ``target``) to a final object: that
    object's reply, its names and its Content-Location ("" when ``found`` is no link)."""
    location = ""
    wanted_etag: str | None = None
    hops = 0
    while is_link(found):
        found.close()
        link_etag = found.header(TARGET_ETAG)
        if wanted_etag and wanted_etag != (link_etag or found.etag):
            raise Refused(409, "X-Symlink-Target-Etag headers do not match",
                          {"Content-Location": location})  # fmt: skip
        if hops >= SYMLOOP_MAX:
            raise Refused(
                409, f"Too many levels of symbolic links, maximum allowed is {SYMLOOP_MAX}"
            )
        account = urllib.parse.unquote(found.header(TARGET_ACCOUNT) or "") or target.account
        container, _, obj = urllib.parse.unquote(found.header(TARGET) or "").partition("/")
        target = Target(account, container, obj)
        location = _location(target)
        if authorize is not None:
            authorize(account, container)
        found = fetch(deps, target, method, headers)
        hops += 1
        wanted_etag = link_etag
    if wanted_etag and found.status < 300 and found.etag != wanted_etag:
        found.close()
        raise Refused(
            409, f"Object Etag {found.etag!r} does not match X-Symlink-Target-Etag header "
            f"{wanted_etag!r}", {"Content-Location": location},
        )  # fmt: skip
    return found, target, location


def link_headers(found: Found) -> dict[str, str]:
    """The link's own headers as a client sees them (``?symlink=get``)."""
    return {SHOWN[k]: found.header(k) or "" for k in SHOWN if found.header(k) is not None}


def post(deps: Deps, path: ObjectPath, metadata: dict[str, str]) -> Reply:
    """POST applies to the link itself; a link answers 307 with its target's Location
    (Swift never redirects the POST itself). The object servers' POST replies carry the
    object's sysmeta, so no other request is needed to know."""
    reply = objects.post(deps, path, metadata)
    found = Found(reply.status, reply.headers)
    if not is_link(found):
        return Reply(reply.status)
    account = urllib.parse.unquote(found.header(TARGET_ACCOUNT) or "") or path.account
    container, _, obj = urllib.parse.unquote(found.header(TARGET) or "").partition("/")
    headers = {"Location": _location(Target(account, container, obj))}
    if found.header(TARGET_ETAG):
        headers["X-Symlink-Target-Etag"] = found.header(TARGET_ETAG) or ""
    raise Refused(
        307, "The requested POST was applied to a symlink. POST directly to the target to "
        "apply requested metadata.", headers,
    )  # fmt: skip
