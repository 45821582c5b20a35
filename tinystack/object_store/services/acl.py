"""Container ACLs as keystoneauth reads them: ``X-Container-Read`` / ``X-Container-Write``
hold comma-separated entries; ``<project_id>:<user_id>`` with ``*`` for either side, a role
name, and (read only) ``.r:<referrer>`` (``.r:*`` any, also anonymous; ``.r:-<host>``
refuses a host) and ``.rlistings`` (referrers may list the container too)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from tinystack.object_store.services import containers
from tinystack.object_store.services.deps import Deps


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: nothing for an anonymous request."""

    project_id: str | None = None
    user_id: str | None = None
    roles: tuple[str, ...] = ()
    referrer: str = ""


@dataclass(frozen=True, slots=True)
class ContainerAcls:
    read: tuple[str, ...]
    write: tuple[str, ...]


def parse(header: str | None) -> tuple[str, ...]:
    return tuple(e.strip() for e in (header or "").split(",") if e.strip())


def load(deps: Deps, account: str, container: str) -> ContainerAcls:
    """The container's ACLs (none when it cannot be read)."""
    reply = containers.cached_head(deps, account, container)
    if reply.status >= 300:
        return ContainerAcls((), ())
    headers = {k.lower(): v for k, v in reply.headers.items()}
    return ContainerAcls(parse(headers.get("x-container-read")),
                         parse(headers.get("x-container-write")))  # fmt: skip


def _user_match(entries: tuple[str, ...], caller: Caller) -> bool:
    if caller.user_id is None:
        return False
    for entry in entries:
        if entry.startswith("."):
            continue
        if ":" in entry:
            project, _, user = entry.partition(":")
            if project in ("*", caller.project_id) and user in ("*", caller.user_id):
                return True
        elif entry.lower() in caller.roles:
            return True
    return False


def _referrer_match(entries: tuple[str, ...], referrer: str) -> bool:
    host = urllib.parse.urlparse(referrer).hostname or "" if referrer else ""
    allowed = False
    for entry in entries:
        if not entry.startswith(".r:"):
            continue
        value = entry[3:]
        negate = value.startswith("-")
        value = value.lstrip("-")
        hit = value == "*" or (bool(host) and (host == value.lstrip(".") or
                                              host.endswith("." + value.lstrip("."))))  # fmt: skip
        if hit:
            allowed = not negate
    return allowed


def allows_read(acls: ContainerAcls, caller: Caller, listing: bool) -> bool:
    if _user_match(acls.read, caller):
        return True
    if listing and ".rlistings" not in acls.read:
        return False
    return _referrer_match(acls.read, caller.referrer)


def allows_write(acls: ContainerAcls, caller: Caller) -> bool:
    return _user_match(acls.write, caller)
