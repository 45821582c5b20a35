"""Object versioning as Swift's ``object_versioning`` middleware offers it: a container
with ``X-Versions-Enabled: true`` keeps every overwritten or deleted object as a version
in a hidden container of the same account.

Naming: the hidden container is ``\\x00versions\\x00<container>`` and a version of
``<obj>`` is ``\\x00<obj>\\x00<inverted version id>`` in it (Swift's reserved namespace:
clients cannot name anything with a NUL, the API answers 412, so nothing collides, and
the inverted id lists an object's versions newest first). A version id is the Swift
timestamp of the write that made it (``1700000000.12345``); ``null`` is an object
written while versioning was off.

Layout of the data (here departing from Swift, which keeps every version in the hidden
container and a symlink in the user's container): the current version stays a plain
object in the user's container, its id a ``swift_versions_id`` parameter of the stored
Content-Type (so container rows carry it into listings, as Swift's own ``swift_*``
parameters do; it never reaches a client). A version goes to the hidden container, with
its id as its timestamp, when it stops being current (an overwrite or a delete), so
reads cost nothing extra and each version is stored once. Restoring a version
(``PUT ?version-id=``) copies it back and keeps its id; it then lives in both places
and listings show it once. A DELETE writes a zero-byte delete marker (Swift's
content type) as the newest version.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tinystack.common.exceptions import (
    BadRequest,
    Conflict,
    NotFound,
    PreconditionFailed,
    ServiceUnavailable,
)  # fmt: skip
from tinystack.object_store.services import containers, objects
from tinystack.object_store.services.backend import timestamp
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.objects import ObjectPath
from tinystack.object_store.services.records import ListingEntry, Reply
from tinystack.object_store.services.version_copies import (
    DELETE_MARKER,
    PARAM,
    archive,
    split_content_type,
)  # fmt: skip
from tinystack.object_store.services.versioning_legacy import (
    archive_current as legacy_archive,
)  # fmt: skip
from tinystack.object_store.services.versioning_legacy import (
    history_delete,
    stack_delete,
)

RESERVED = "\x00"
NULL = "null"
ENABLED = "X-Versions-Enabled"
#: just after every reserved name: account listings start past the hidden containers
PAST_RESERVED = RESERVED + "\U0010ffff"
_MAX_UNITS = 10**15 - 1  # 9999999999.99999 in units of 1e-5 s
_INVERTED = re.compile(r"^\d{10}\.\d{5}$")


def true_value(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "1", "yes", "on", "t", "y")


def versions_container(container: str) -> str:
    return f"{RESERVED}versions{RESERVED}{container}"


def is_reserved(name: str) -> bool:
    return name.startswith(RESERVED)


def check_version(version_id: str, allow_null: bool = True) -> str:
    """A version id in its stored form; 400 as Swift for anything else."""
    if version_id == NULL and allow_null:
        return NULL
    try:
        value = float(version_id)
    except ValueError:
        value = -1.0
    if not 0 <= value < 10**10 or not re.fullmatch(r"\d+(\.\d*)?", version_id):
        raise BadRequest("Invalid version parameter")
    return f"{value:016.05f}"


def invert(version_id: str) -> str:
    """``9999999999.99999 - id``, exactly (its own inverse)."""
    whole, _, frac = version_id.partition(".")
    units = _MAX_UNITS - (int(whole) * 100000 + int((frac + "00000")[:5]))
    return f"{units // 100000:010d}.{units % 100000:05d}"


def version_name(obj: str, version_id: str) -> str:
    return f"{RESERVED}{obj}{RESERVED}{invert(version_id)}"


def parse_version_name(name: str) -> tuple[str, str] | None:
    """(object, version id) of a hidden container's object name; None for others."""
    if not is_reserved(name):
        return None
    obj, sep, inverted = name[1:].rpartition(RESERVED)
    if not sep or not _INVERTED.match(inverted):
        return None
    return obj, invert(inverted)


def _with_id(content_type: str, version_id: str) -> str:
    return f"{split_content_type(content_type)[0]};{PARAM}={version_id}"


@dataclass(frozen=True, slots=True)
class Versioning:
    """A container's versioning: the new mode (``versioned`` once it was ever turned
    on, ``enabled`` while on) or a legacy archive ``location`` (``stack`` or
    ``history`` mode)."""

    versioned: bool = False
    enabled: bool = False
    location: str = ""
    mode: str = ""


def state(deps: Deps, account: str, container: str) -> Versioning:
    reply = containers.cached_head(deps, account, container)
    if reply.status >= 300:
        return Versioning()
    found = {k.lower(): v for k, v in reply.headers.items()}
    flag = found.get(ENABLED.lower())
    stack = found.get("x-versions-location", "")
    history = found.get("x-history-location", "")
    return Versioning(
        versioned=flag is not None,
        enabled=true_value(flag),
        location=urllib.parse.unquote(stack or history),
        mode="history" if history else ("stack" if stack else ""),
    )


def hidden(path: ObjectPath, version_id: str) -> ObjectPath:
    return ObjectPath(
        path.account, versions_container(path.container), version_name(path.obj, version_id)
    )


@dataclass(frozen=True, slots=True)
class Current:
    """The object now in the user's container: its version id (None: ``null``) and
    its timestamp."""

    version_id: str | None
    timestamp: str

    @property
    def archived_id(self) -> str:
        """The id it keeps as a version (a ``null`` one gets its timestamp, as Swift)."""
        return self.version_id or self.timestamp


def current(deps: Deps, path: ObjectPath) -> Current | None:
    reply = objects.head(deps, path, {})
    if reply.status == 404:
        return None
    if reply.status >= 300:
        raise ServiceUnavailable("Service Unavailable")
    _, version_id = split_content_type(reply.headers.get("Content-Type", ""))
    return Current(version_id, reply.headers.get("X-Timestamp", timestamp()))


def _keep(deps: Deps, path: ObjectPath, now: Current) -> None:
    """Make sure the current object exists as a version in the hidden container."""
    version_id = now.archived_id
    dest = hidden(path, version_id)
    if objects.head(deps, dest, {}).status < 300:
        return  # a restored version: it is there already
    try:
        archive(deps, path, dest, version_id)
    except NotFound as exc:  # the hidden container is gone
        raise ServiceUnavailable(
            "The versions container does not exist. You may want to re-enable object versioning."
        ) from exc


def _marker(deps: Deps, path: ObjectPath, version_id: str) -> None:
    upload = objects.Upload(
        deps, hidden(path, version_id), {"Content-Type": DELETE_MARKER}, 0, None, version_id
    )
    upload.commit()


# -- containers ----------------------------------------------------------------------------


def container_metadata(
    deps: Deps, account: str, container: str, headers: Mapping[str, str]
) -> dict[str, str]:
    """The versioning headers of a container PUT or POST, as stored: the legacy
    archive location (one of the two modes) and the new mode's flag (its hidden
    container made when first turned on). 400 for what Swift refuses."""
    found: dict[str, str] = {}
    stack, history = headers.get("x-versions-location"), headers.get("x-history-location")
    if stack and history:
        raise BadRequest("Only one of X-Versions-Location or X-History-Location may be specified")
    location = stack or history
    removed = any(headers.get(h) for h in ("x-remove-versions-location",
                                          "x-remove-history-location"))  # fmt: skip
    if location:
        name = urllib.parse.unquote(location)
        if "/" in name.strip("/"):
            raise PreconditionFailed("Container name cannot contain slashes")
        found["X-Versions-Location" if stack else "X-History-Location"] = location
        found["X-History-Location" if stack else "X-Versions-Location"] = ""
    elif removed or stack == "" or history == "":
        found["X-Versions-Location"] = found["X-History-Location"] = ""
    flag = headers.get(ENABLED.lower())
    if flag is None:
        return found
    now = state(deps, account, container)
    if (now.location and "X-Versions-Location" not in found) or location:
        raise BadRequest(
            "Cannot enable object versioning on a container that is already using the "
            "legacy versioned writes feature."
        )
    if true_value(flag):
        reply = containers.put(deps, account, versions_container(container), {})
        if reply.status >= 300:
            raise ServiceUnavailable("Error enabling object versioning")
    found[ENABLED] = str(true_value(flag))
    return found


def container_reply(deps: Deps, account: str, container: str, reply: Reply) -> Reply:
    """A versioned container's bytes count its versions too (as Swift shows)."""
    found = {k.lower(): v for k, v in reply.headers.items()}
    if reply.status >= 300 or ENABLED.lower() not in found:
        return reply
    versions = containers.head(deps, account, versions_container(container))
    used = versions.headers.get("X-Container-Bytes-Used", "0")
    if versions.status >= 300 or not used.isdigit():
        return reply
    headers = dict(reply.headers)
    for key in headers:
        if key.lower() == "x-container-bytes-used":
            headers[key] = str(int(headers[key]) + int(used))
    return Reply(reply.status, headers, reply.body, reply.stream)


def before_container_delete(deps: Deps, account: str, container: str) -> str | None:
    """409 while versions remain; the hidden container to delete with the container."""
    if not state(deps, account, container).versioned:
        return None
    name = versions_container(container)
    versions = containers.head(deps, account, name)
    if versions.status == 404:
        return None
    count = versions.headers.get("X-Container-Object-Count", "0")
    if versions.status >= 300:
        raise ServiceUnavailable("Error deleting versioned container")
    if count.isdigit() and int(count) > 0:
        raise Conflict("Delete all versions before deleting container.")
    return name


def after_container_delete(deps: Deps, account: str, versions: str | None) -> None:
    if versions is not None:
        containers.delete(deps, account, versions)


def listing_query(query: str) -> str:
    """An account listing's backend query, started past the hidden containers (they
    sort first, so a page never comes back short)."""
    params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    key = "end_marker" if true_value(params.get("reverse")) else "marker"
    if params.get(key, "") < PAST_RESERVED:
        params[key] = PAST_RESERVED
    return urllib.parse.urlencode(params)


def clean_entries(entries: list[ListingEntry]) -> list[ListingEntry]:
    """A versioned container's plain listing: no version id in content types."""
    return [_clean(e) for e in entries]


def _clean(entry: ListingEntry) -> ListingEntry:
    if entry.subdir or PARAM not in entry.bytes_or_type:
        return entry
    content_type = split_content_type(entry.bytes_or_type)[0]
    return ListingEntry(entry.name, entry.timestamp, entry.count_or_size, content_type,
                        entry.etag, entry.subdir)  # fmt: skip


# -- objects -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PutPlan:
    """What an object PUT stores, once the object it replaces was kept: its metadata
    and the version id it answers with (None: not versioned)."""

    metadata: dict[str, str]
    version_id: str | None = None

    def with_headers(self, reply: Reply) -> Reply:
        """The PUT's reply, with the version id it made."""
        if not self.version_id:
            return reply
        headers = {**reply.headers, "X-Object-Version-Id": self.version_id}
        return Reply(reply.status, headers, reply.body, reply.stream)


def before_put(deps: Deps, path: ObjectPath, metadata: dict[str, str]) -> PutPlan:
    """Keep the object a PUT (or copy) replaces: as a version (new mode; a ``null``
    one only while enabled, as Swift), or in the legacy archive container."""
    now = state(deps, path.account, path.container)
    if now.location:
        legacy_archive(deps, path, now.location)
        return PutPlan(metadata)
    if not now.versioned:
        return PutPlan(metadata)
    content_type = split_content_type(metadata.get("Content-Type", ""))[0]
    found = current(deps, path)
    if found is not None and (now.enabled or found.version_id is not None):
        _keep(deps, path, found)
    if not now.enabled:
        return PutPlan({**metadata, "Content-Type": content_type})
    version_id = timestamp()
    return PutPlan({**metadata, "Content-Type": _with_id(content_type, version_id)}, version_id)


def delete(deps: Deps, path: ObjectPath) -> Reply:
    """DELETE of the current object: kept as a version and a delete marker written
    (new mode, enabled), or the legacy modes' history marker or stack pop."""
    now = state(deps, path.account, path.container)
    if now.location:
        if now.mode == "history":
            return history_delete(deps, path, now.location)
        return stack_delete(deps, path, now.location)
    if not now.versioned:
        return objects.delete(deps, path)
    found = current(deps, path)
    if found is not None and (now.enabled or found.version_id is not None):
        _keep(deps, path, found)
    if not now.enabled:
        return objects.delete(deps, path)
    marker = timestamp()
    _marker(deps, path, marker)
    reply = objects.delete(deps, path)
    return Reply(reply.status, {**reply.headers, "X-Object-Version-Id": marker})


def _require_versioned(deps: Deps, path: ObjectPath, version_id: str) -> str:
    checked = check_version(version_id)
    if checked != NULL and not state(deps, path.account, path.container).versioned:
        raise BadRequest("version-aware operations require that the container is versioned")
    return checked


def _is_marker(reply: Reply) -> bool:
    return reply.headers.get("Content-Type", "") == DELETE_MARKER


def read(
    deps: Deps, path: ObjectPath, version_id: str, conditions: dict[str, str], method: str
) -> Reply:
    """GET or HEAD ``?version-id=``: a version, the ``null`` one in the container, or
    404 (a delete marker's says so in its headers)."""
    wanted = _require_versioned(deps, path, version_id)
    if wanted == NULL:
        reply = objects.get(deps, path, conditions, method)
        if reply.status < 300 and split_content_type(reply.headers.get("Content-Type", ""))[1]:
            _close(reply)
            return Reply(404)
        return _shown(reply, NULL)
    reply = objects.get(deps, hidden(path, wanted), conditions, method)
    if reply.status == 404:
        reply = objects.get(deps, path, conditions, method)
        found = split_content_type(reply.headers.get("Content-Type", ""))[1]
        if reply.status >= 300 or found != wanted:
            _close(reply)
            return Reply(404)
    if _is_marker(reply):
        _close(reply)
        return Reply(404, {"X-Object-Version-Id": wanted, "Content-Type": DELETE_MARKER})
    return _shown(reply, wanted)


def shown(reply: Reply) -> Reply:
    """A current object's reply: its version id as ``X-Object-Version-Id``."""
    content_type, version_id = split_content_type(reply.headers.get("Content-Type", ""))
    if reply.status >= 300 and version_id is None:
        return reply
    headers = {**reply.headers, "X-Object-Version-Id": version_id or NULL}
    if "Content-Type" in headers:
        headers["Content-Type"] = content_type
    return Reply(reply.status, headers, reply.body, reply.stream)


def _shown(reply: Reply, version_id: str) -> Reply:
    found = shown(reply)
    if found.status >= 300:
        return found
    return Reply(found.status, {**found.headers, "X-Object-Version-Id": version_id},
                 found.body, found.stream)  # fmt: skip


def _close(reply: Reply) -> None:
    if reply.stream is not None:
        reply.stream.close()  # type: ignore[attr-defined]


def delete_version(deps: Deps, path: ObjectPath, version_id: str) -> Reply:
    """DELETE ``?version-id=``: that version only (no marker); when it is the current
    one, the object in the container goes too."""
    wanted = _require_versioned(deps, path, version_id)
    found = current(deps, path)
    if wanted == NULL:
        if found is not None and found.version_id is not None:
            _keep(deps, path, found)  # only a null version leaves with the object
        reply = objects.delete(deps, path)
        return Reply(reply.status, {"X-Object-Version-Id": NULL,
                                    "X-Object-Current-Version-Id": NULL})  # fmt: skip
    left = found.version_id if found is not None else None
    status = 404
    if found is not None and found.version_id == wanted:
        status = objects.delete(deps, path).status
        left = None
    reply = objects.delete(deps, hidden(path, wanted))
    if reply.status < 300 or status >= 300:
        status = reply.status
    return Reply(status, {"X-Object-Version-Id": wanted,
                          "X-Object-Current-Version-Id": left or NULL})  # fmt: skip


def restore(deps: Deps, path: ObjectPath, version_id: str) -> Reply:
    """PUT ``?version-id=`` (no body): that version becomes the current one, keeping
    its id; the one it replaces stays a version (a ``null`` one is lost, as Swift)."""
    if version_id == NULL:
        raise BadRequest("Invalid version parameter")
    wanted = _require_versioned(deps, path, version_id)
    source = hidden(path, wanted)
    head = objects.head(deps, source, {})
    found = current(deps, path)
    if head.status == 404 and found is not None and found.version_id == wanted:
        return Reply(201, {"X-Object-Version-Id": wanted})
    if head.status == 404 or _is_marker(head):
        raise NotFound("The specified version does not exist")
    if found is not None and found.version_id is not None:
        _keep(deps, path, found)
    content_type = _with_id(head.headers.get("Content-Type", ""), wanted)
    reply = objects.copy(deps, source, path, {"Content-Type": content_type}, False)
    kept = {k: v for k, v in reply.headers.items() if not k.startswith("X-Copied-From")}
    return Reply(reply.status, {**kept, "X-Object-Version-Id": wanted})


def copy_source(deps: Deps, source: ObjectPath, version_id: str | None) -> ObjectPath:
    """Where a copy reads ``source`` at ``version_id`` (None: the current object)."""
    if version_id is None:
        return source
    wanted = _require_versioned(deps, source, version_id)
    if wanted == NULL:
        return source
    found = hidden(source, wanted)
    head = objects.head(deps, found, {})
    if head.status < 300 and not _is_marker(head):
        return found
    now = current(deps, source)
    if head.status == 404 and now is not None and now.version_id == wanted:
        return source
    raise NotFound()


def copy(
    deps: Deps, source: ObjectPath, version_id: str | None, dest: ObjectPath,
    metadata: dict[str, str], fresh: bool, read: Callable[[ObjectPath], Reply] | None = None,
) -> Reply:  # fmt: skip
    """COPY and ``X-Copy-From`` (of a version with ``version_id``): the copy is a new
    write at the destination, so the destination's versioning keeps what it replaces.
    ``read``: how the source is read (large objects and links, see objects.copy)."""
    origin = copy_source(deps, source, version_id)
    into = state(deps, dest.account, dest.container)
    versioned = into.versioned or into.location or state(
        deps, source.account, source.container).versioned  # fmt: skip
    if not versioned and origin == source:
        return objects.copy(deps, source, dest, metadata, fresh, read)
    meta = dict(metadata)
    if not meta.get("Content-Type"):
        head = objects.head(deps, origin, {})
        if head.status >= 300:
            return Reply(head.status)
        meta["Content-Type"] = split_content_type(head.headers.get("Content-Type", ""))[0]
    plan = before_put(deps, dest, meta)
    reply = plan.with_headers(objects.copy(deps, origin, dest, plan.metadata, fresh, read))
    headers = dict(reply.headers)
    if origin != source:
        headers["X-Copied-From"] = f"{source.container}/{source.obj}"
        headers["X-Copied-From-Version-Id"] = str(version_id)
    return Reply(reply.status, headers)


# -- listings ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VersionEntry:
    """One row of a ``?versions`` listing (a subdir has no version)."""

    entry: ListingEntry
    version_id: str = ""
    is_latest: bool = False


def _hidden_query(params: Mapping[str, str], limit: int) -> dict[str, str]:
    query = {"limit": str(limit), "prefix": RESERVED + params.get("prefix", "")}
    for key in ("delimiter", "reverse"):
        if key in params:
            query[key] = params[key]
    if params.get("end_marker"):
        query["end_marker"] = RESERVED + params["end_marker"]
    if "marker" in params:
        marker, at = params["marker"], params.get("version_marker")
        if at is None:
            query["marker"] = f"{RESERVED}{marker}{RESERVED}:"  # past all its versions
        elif at == NULL:
            query["marker"] = f"{RESERVED}{marker}{RESERVED}"  # before all its versions
        else:
            try:
                query["marker"] = version_name(marker, check_version(at, False))
            except BadRequest as exc:
                raise BadRequest("invalid version_marker param") from exc
    elif "version_marker" in params:
        raise BadRequest("version_marker param requires marker")
    return query


def list_versions(
    deps: Deps, account: str, container: str, params: Mapping[str, str], limit: int
) -> tuple[Reply, list[VersionEntry]]:
    """``GET <container>?versions``: the current objects and every version, by name,
    newest version first, ``null`` ones first of their name (as Swift merges them)."""
    if set(params.get("delimiter", "")) & set("0123456789." + RESERVED):
        raise BadRequest("invalid delimiter param")
    hidden_query = _hidden_query(params, limit)
    keys = ("marker", "end_marker", "prefix", "delimiter", "reverse")
    query = {"limit": str(limit), **{k: params[k] for k in keys if k in params}}
    reply, rows = containers.listing(deps, account, container, urllib.parse.urlencode(query))
    if reply.status >= 300:
        return reply, []
    _, versions = containers.listing(
        deps, account, versions_container(container), urllib.parse.urlencode(hidden_query)
    )
    found: list[tuple[tuple[str, int, str], VersionEntry]] = []
    currents: dict[str, str] = {}
    subdirs = {e.name for e in rows if e.subdir}
    for e in rows:
        if e.subdir:
            continue
        content_type, version_id = split_content_type(e.bytes_or_type)
        currents[e.name] = version_id or NULL
        key = (e.name, 1, invert(version_id)) if version_id else (e.name, 0, "")
        found.append((key, VersionEntry(_clean(e), version_id or NULL, True)))
    for e in versions:
        if e.subdir:
            subdirs.add(e.name[len(RESERVED) :])
            continue
        parsed = parse_version_name(e.name)
        if parsed is None or currents.get(parsed[0]) == parsed[1]:
            continue
        name, version_id = parsed
        row = ListingEntry(name, e.timestamp, e.count_or_size, e.bytes_or_type, e.etag, False)
        found.append(((name, 1, invert(version_id)), VersionEntry(row, version_id)))
    found += [((s, -1, ""), VersionEntry(ListingEntry(s, "", 0, "", "", True))) for s in subdirs]
    found.sort(key=lambda item: item[0])
    latest = set(currents)
    listing: list[VersionEntry] = []
    for _, item in found:
        name = item.entry.name
        if item.entry.bytes_or_type == DELETE_MARKER and name not in latest:
            latest.add(name)
            item = VersionEntry(item.entry, item.version_id, True)
        listing.append(item)
    if true_value(params.get("reverse")):
        listing.reverse()
    return reply, listing[:limit]
