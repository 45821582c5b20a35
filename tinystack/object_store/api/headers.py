"""Request headers Swift turns into metadata, with its limits (``/info`` shows them)."""

from __future__ import annotations

import time
import urllib.parse

from starlette.requests import Request

from tinystack.common.exceptions import BadRequest, PreconditionFailed

MAX_META_NAME = 128
MAX_META_VALUE = 256
MAX_META_COUNT = 90
MAX_META_OVERALL = 4096
MAX_OBJECT_NAME = 1024
MAX_CONTAINER_NAME = 256
MAX_ACCOUNT_NAME = 256
#: headers stored beside X-<Kind>-Meta-* (and removed by X-Remove-<header>)
SYSTEM = {
    "account": (),
    "container": ("x-container-read", "x-container-write"),
    "object": (
        "content-type",
        "content-disposition",
        "content-encoding",
        "x-delete-at",
        "x-object-manifest",
    ),
}


def _canonical(key: str) -> str:
    return "-".join(p.capitalize() for p in key.split("-"))


def metadata(request: Request, kind: str) -> dict[str, str]:
    """The metadata a request sets; ``X-Remove-<Kind>-Meta-<name>`` (and an empty value)
    removes one. 400 when over Swift's limits."""
    prefix = f"x-{kind}-meta-"
    found: dict[str, str] = {}
    count = size = 0
    for key, value in request.headers.items():
        if key.startswith("x-remove-"):
            if kind == "object":
                continue  # Swift ignores them: an object PUT or POST sets all its metadata
            removed = "x-" + key[len("x-remove-") :]
            if removed.startswith(prefix) or removed in SYSTEM[kind]:
                found[_canonical(removed)] = ""
            continue
        if key in SYSTEM[kind]:
            found[_canonical(key)] = value
            continue
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        if not name:
            raise BadRequest("Metadata name cannot be empty")
        if len(name) > MAX_META_NAME:
            raise BadRequest(f"Metadata name too long: {key}")
        if len(value) > MAX_META_VALUE:
            raise BadRequest(f"Metadata value longer than {MAX_META_VALUE}: {key}")
        count += 1
        size += len(name) + len(value)
        found[_canonical(key)] = value
    if count > MAX_META_COUNT:
        raise BadRequest(f"Too many metadata items; max {MAX_META_COUNT}")
    if size > MAX_META_OVERALL:
        raise BadRequest(f"Total metadata too large; max {MAX_META_OVERALL}")
    return found


def check_container(name: str) -> None:
    if len(name.encode()) > MAX_CONTAINER_NAME:
        raise BadRequest(f"Container name length of {len(name)} longer than {MAX_CONTAINER_NAME}")
    if "/" in name or not name:
        raise BadRequest("Invalid container name")


def check_object(name: str) -> None:
    if len(name.encode()) > MAX_OBJECT_NAME:
        raise BadRequest(f"Object name length of {len(name)} longer than {MAX_OBJECT_NAME}")
    if not name:
        raise BadRequest("Invalid object name")


def check_path(request: Request) -> None:
    """412 for a path that is not UTF-8 once unquoted, or holds a NUL (as Swift)."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    try:
        text = urllib.parse.unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PreconditionFailed("Invalid UTF8 or contains NULL") from exc
    if "\x00" in text:
        raise PreconditionFailed("Invalid UTF8 or contains NULL")


def expiry(request: Request, meta: dict[str, str]) -> None:
    """``X-Delete-After`` becomes ``X-Delete-At``; both must be integers in the future."""
    after = request.headers.get("x-delete-after")
    now = time.time()
    if after is not None:
        try:
            seconds = int(after)
        except ValueError as exc:
            raise BadRequest("Non-integer X-Delete-After") from exc
        if seconds <= 0:
            raise BadRequest("X-Delete-After in past")
        meta["X-Delete-At"] = str(int(now + seconds))
        return
    value = meta.get("X-Delete-At")
    if value:
        try:
            at = int(value)
        except ValueError as exc:
            raise BadRequest("Non-integer X-Delete-At") from exc
        if at <= now:
            raise BadRequest("X-Delete-At in past")
        meta["X-Delete-At"] = str(at)
