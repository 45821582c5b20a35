"""Swift's legacy versioned writes: a container with ``X-Versions-Location: <archive>``
(stack mode) or ``X-History-Location: <archive>`` (history mode) copies the object a PUT
replaces to ``<archive>/<len><name>/<timestamp>`` (``len``: three hex digits of the
name's UTF-8 length; ``timestamp``: the replaced object's). On DELETE, stack mode puts
the newest archived copy back in place (and removes it from the archive); history mode
archives the current object and writes a zero-byte delete marker. A missing archive
container makes the write fail with 412, as Swift answers."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

from tinystack.common.exceptions import NotFound, PreconditionFailed, ServiceUnavailable
from tinystack.object_store.services import containers, objects
from tinystack.object_store.services.backend import timestamp
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.objects import ObjectPath
from tinystack.object_store.services.records import ListingEntry, Reply
from tinystack.object_store.services.version_copies import DELETE_MARKER, archive

PAGE = 1000


def prefix(obj: str) -> str:
    return f"{len(obj.encode()):03x}{obj}/"


def archive_path(path: ObjectPath, location: str, at: str) -> ObjectPath:
    return ObjectPath(path.account, location, prefix(path.obj) + at)


def _checked(reply: Reply) -> None:
    if reply.status >= 500:
        raise ServiceUnavailable("Service Unavailable")
    if reply.status >= 400:
        raise PreconditionFailed()


def _copy(deps: Deps, source: ObjectPath, dest: ObjectPath) -> bool:
    """Copy source to dest as a new write; False when the source is gone."""
    try:
        return archive(deps, source, dest, None)
    except NotFound as exc:  # the archive (or the container) does not exist
        raise PreconditionFailed() from exc


def archive_current(deps: Deps, path: ObjectPath, location: str) -> None:
    """Copy the object about to be replaced into the archive container."""
    head = objects.head(deps, path, {})
    if head.status == 404:
        return
    _checked(head)
    at = head.headers.get("X-Timestamp") or timestamp()
    _copy(deps, path, archive_path(path, location, at))


def history_delete(deps: Deps, path: ObjectPath, location: str) -> Reply:
    archive_current(deps, path, location)
    marker = archive_path(path, location, timestamp())
    try:
        objects.Upload(deps, marker, {"Content-Type": DELETE_MARKER}, 0, None).commit()
    except NotFound as exc:
        raise PreconditionFailed() from exc
    return objects.delete(deps, path)


def _newest_first(deps: Deps, path: ObjectPath, location: str) -> Iterator[ListingEntry]:
    marker = ""
    while True:
        query = {"prefix": prefix(path.obj), "reverse": "on", "limit": str(PAGE)}
        if marker:
            query["marker"] = marker
        reply, entries = containers.listing(
            deps, path.account, location, urllib.parse.urlencode(query)
        )
        if reply.status == 404:
            return
        _checked(reply)
        yield from entries
        if len(entries) < PAGE:
            return
        marker = entries[-1].name


def stack_delete(deps: Deps, path: ObjectPath, location: str) -> Reply:
    """Delete the current object and pop the newest archived version in its place."""
    versions = _newest_first(deps, path, location)
    for entry in versions:
        if entry.bytes_or_type == DELETE_MARKER:
            # a history-mode marker: the object was deleted after that copy
            if objects.head(deps, path, {}).status != 404:
                break
            for older in versions:
                if older.bytes_or_type == DELETE_MARKER:
                    break
                source = ObjectPath(path.account, location, older.name)
                if _copy(deps, source, path):
                    objects.delete(deps, source)
                    break
            return objects.delete(deps, ObjectPath(path.account, location, entry.name))
        source = ObjectPath(path.account, location, entry.name)
        if _copy(deps, source, path):
            return objects.delete(deps, source)
    return objects.delete(deps, path)
