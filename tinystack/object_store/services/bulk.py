"""Bulk operations, as Swift's bulk middleware: ``?bulk-delete`` (objects first, then
containers, at most ``MAX_DELETES_PER_REQUEST``) and ``?extract-archive=tar|tar.gz|tar.bz2``
(each regular file of the archive becomes an object; containers are created as needed).

An archive is spooled to a temporary file and read twice: first its headers only, to
refuse it whole before anything is created when it is unsafe (a member named with ``..``
or an absolute path, a link, a device or a fifo) or a bomb (more than ``MAX_MEMBERS``
members, more than ``MAX_EXPANDED`` bytes, or an expansion ratio over ``MAX_RATIO``);
then each file is streamed into its object (a short or corrupt member aborts its upload,
so no half-written object is ever visible). Results use Swift's bulk response fields
(``BulkResult``; api/bulk.py renders them as text, JSON or XML)."""

from __future__ import annotations

import http
import logging
import mimetypes
import posixpath
import tarfile
import urllib.parse
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Literal

from tinystack.common.exceptions import TinystackError
from tinystack.object_store.services import containers, objects
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.objects import ObjectPath

LOG = logging.getLogger(__name__)
Mode = Literal["r:", "r:gz", "r:bz2"]
#: ?extract-archive= -> how tarfile opens it
MODES: dict[str, Mode] = {"tar": "r:", "tar.gz": "r:gz", "tar.bz2": "r:bz2"}
MAX_DELETES_PER_REQUEST = 10000
MAX_FAILED_DELETES = 1000
MAX_CONTAINERS_PER_EXTRACTION = 10000
MAX_FAILED_EXTRACTIONS = 1000
#: tar bomb limits: members, bytes once expanded, expanded bytes per archive byte
MAX_MEMBERS = 10000
MAX_EXPANDED = 5 * 1024**3
MAX_RATIO = 200
#: the ratio is only checked past this many expanded bytes (small archives of small
#: text files compress very well and harm nobody)
RATIO_FLOOR = 16 * 1024**2
#: Swift's name limits (api/headers checks the same on every request)
MAX_OBJECT_NAME = 1024
MAX_CONTAINER_NAME = 256
MAX_PATH = MAX_OBJECT_NAME + MAX_CONTAINER_NAME + 2
#: (container) -> raises when the caller may not write there
Authorize = Callable[[str], None]


def status_line(code: int) -> str:
    try:
        return f"{code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


@dataclass
class BulkResult:
    """Swift's bulk response: ``Response Status``, ``Response Body``, the counts and the
    ``Errors`` list of [quoted name, status]."""

    status: str = "200 OK"
    body: str = ""
    deleted: int = 0
    not_found: int = 0
    created: int = 0
    errors: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DeleteItem:
    """``/container/object`` or ``/container``; ``error`` already known (code, message)."""

    name: str
    error: tuple[int, str] | None = None


def parse_delete_body(body: bytes) -> list[DeleteItem]:
    """Newline-separated, URL-encoded names (413 past the limit, 400 for a name
    longer than any object path)."""
    items = []
    for line in body.split(b"\n"):
        if len(line) > MAX_PATH * 2:
            raise Bulk(400, "Invalid File Name")
        name = urllib.parse.unquote_to_bytes(line.strip()).decode("utf-8", "surrogateescape")
        if name:
            items.append(DeleteItem(name))
        if len(items) > MAX_DELETES_PER_REQUEST:
            raise Bulk(413, f"Maximum Bulk Deletes: {MAX_DELETES_PER_REQUEST} per request")
    return items


class Bulk(Exception):
    """A failure of the whole bulk request: its status and Response Body."""

    def __init__(self, code: int, body: str) -> None:
        self.code = code
        self.body = body
        super().__init__(body)


def _quote(name: str) -> str:
    return urllib.parse.quote(name.encode("utf-8", "surrogateescape"))


def delete(
    deps: Deps, account: str, items: Iterable[DeleteItem], authorize: Authorize | None = None
) -> BulkResult:
    """Delete objects, then containers (which must be empty by then)."""
    result = BulkResult()
    failed_type = 400
    try:
        listed = list(items)
        for want_object in (True, False):
            for item in listed:
                is_object = "/" in item.name.strip("/")
                if is_object != want_object or not item.name.strip("/"):
                    continue
                code = _delete_one(deps, account, item, authorize)
                if code // 100 == 2:
                    result.deleted += 1
                elif code == 404:
                    result.not_found += 1
                else:
                    message = item.error[1] if item.error else status_line(code)
                    result.errors.append([_quote(item.name), message])
                    failed_type = 502 if code // 100 == 5 else failed_type
                if len(result.errors) >= MAX_FAILED_DELETES:
                    raise Bulk(400, "Max delete failures exceeded")
        if result.errors:
            result.status = status_line(failed_type)
        elif not (result.deleted or result.not_found):
            result.status, result.body = status_line(400), "Invalid bulk delete."
    except Bulk as exc:
        result.status, result.body = status_line(exc.code), exc.body
    return result


def _delete_one(deps: Deps, account: str, item: DeleteItem, authorize: Authorize | None) -> int:
    if item.error is not None:
        return item.error[0]
    container, _, obj = item.name.strip("/").partition("/")
    if not item.name.startswith("/"):
        container, _, obj = item.name.partition("/")
    if not _valid_name(item.name):
        return 412
    if not _valid_path(container, obj or "-"):
        return 400
    try:
        if authorize is not None:
            authorize(container)
        if obj:
            return objects.delete(deps, ObjectPath(account, container, obj)).status
        return containers.delete(deps, account, container).status
    except TinystackError as exc:
        return exc.status


def _valid_name(name: str) -> bool:
    """UTF-8 without NUL (as Swift's check_utf8)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in name


def _valid_path(container: str, obj: str) -> bool:
    return (
        0 < len(container.encode("utf-8", "surrogateescape")) <= MAX_CONTAINER_NAME
        and 0 < len(obj.encode("utf-8", "surrogateescape")) <= MAX_OBJECT_NAME
    )


# -- extract-archive ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Member:
    info: tarfile.TarInfo
    container: str
    obj: str


def _member_name(info: tarfile.TarInfo, base: str) -> str | None:
    """The object path of a regular file (None: skipped, as Swift skips base-level
    files); raises Bulk for a name that would escape."""
    name = info.name
    if name.startswith("./"):
        name = name[2:]
    if name.startswith("/") or ".." in name.split("/"):
        raise Unsafe(info.name)
    path = posixpath.join(base, name) if base else name
    if "/" not in path.strip("/"):
        return None
    return path


class Unsafe(Exception):
    """A member that is not a plain file with a relative name."""


def scan(archive: IO[bytes], mode: Mode, base: str, compressed: int) -> list[Member]:
    """The archive's regular files, read from its headers only; raises Bulk when the
    archive as a whole must be refused (nothing is created then)."""
    members: list[Member] = []
    expanded = 0
    unsafe: list[list[str]] = []
    try:
        with tarfile.open(fileobj=archive, mode=mode) as tar:
            for count, info in enumerate(_iterate(tar), 1):
                if count > MAX_MEMBERS:
                    raise Bulk(400, f"Invalid Tar File: more than {MAX_MEMBERS} members")
                if info.isdir():
                    continue
                if not info.isfile():
                    unsafe.append([_quote(info.name[:MAX_PATH]), status_line(400)])
                    continue
                expanded += info.size
                if expanded > MAX_EXPANDED:
                    raise Bulk(400, f"Invalid Tar File: expands to more than {MAX_EXPANDED} "
                               "bytes")  # fmt: skip
                if expanded > RATIO_FLOOR and expanded > MAX_RATIO * max(compressed, 1):
                    raise Bulk(400, f"Invalid Tar File: compression ratio over {MAX_RATIO}")
                try:
                    path = _member_name(info, base)
                except Unsafe:
                    unsafe.append([_quote(info.name[:MAX_PATH]), status_line(400)])
                    continue
                if path is not None:
                    container, _, obj = path.partition("/")
                    members.append(Member(info, container, obj))
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise Bulk(400, f"Invalid Tar File: {exc}") from exc
    if unsafe:
        raise Refused(unsafe)
    return members


class Refused(Exception):
    """Members that make the whole archive refused (errors as [name, status])."""

    def __init__(self, errors: list[list[str]]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} unsafe members")


def _iterate(tar: tarfile.TarFile) -> Iterable[tarfile.TarInfo]:
    while (info := tar.next()) is not None:
        yield info


def extract(
    deps: Deps, account: str, base: str, archive: IO[bytes], mode: Mode,
    metadata: dict[str, str], authorize: Authorize | None = None,
) -> BulkResult:  # fmt: skip
    """Create an object for each regular file of the archive (a seekable file)."""
    result = BulkResult(status=status_line(201))
    base = base.strip("/")
    try:
        archive.seek(0, 2)
        size = archive.tell()
        archive.seek(0)
        members = scan(archive, mode, base, size)
        archive.seek(0)
        _create_all(deps, account, archive, mode, members, metadata, authorize, result)
        if result.errors:
            result.status = status_line(502 if result.status.startswith("502") else 400)
        elif not result.created:
            result.status, result.body = status_line(400), "Invalid Tar File: No Valid Files"
    except Refused as exc:
        result.status, result.errors = status_line(400), exc.errors
    except Bulk as exc:
        result.status, result.body = status_line(exc.code), exc.body
    except (tarfile.TarError, zlib.error, EOFError) as exc:
        result.status, result.body = status_line(400), f"Invalid Tar File: {exc}"
    return result


def _create_all(
    deps: Deps, account: str, archive: IO[bytes], mode: Mode, members: list[Member],
    metadata: dict[str, str], authorize: Authorize | None, result: BulkResult,
) -> None:  # fmt: skip
    wanted = {(m.info.offset_data, m.info.name): m for m in members}
    ready: set[str] = set()
    created_containers = 0
    with tarfile.open(fileobj=archive, mode=mode) as tar:
        for info in _iterate(tar):
            member = wanted.get((info.offset_data, info.name))
            if member is None:
                continue
            name = f"{member.container}/{member.obj}"[:MAX_PATH]
            if not (_valid_name(name) and _valid_path(member.container, member.obj)):
                result.errors.append([_quote(name), status_line(412)])
                continue
            try:
                if authorize is not None:
                    authorize(member.container)
                if member.container not in ready:
                    if _ensure_container(deps, account, member.container):
                        created_containers += 1
                    ready.add(member.container)
                    if created_containers > MAX_CONTAINERS_PER_EXTRACTION:
                        raise Bulk(400, f"More than {MAX_CONTAINERS_PER_EXTRACTION} "
                                   "containers to create from tar.")  # fmt: skip
                _create(deps, account, member, tar, metadata)
                result.created += 1
            except TinystackError as exc:
                if exc.status // 100 == 5:
                    result.status = status_line(502)
                result.errors.append([_quote(name), status_line(exc.status)])
            if len(result.errors) >= MAX_FAILED_EXTRACTIONS:
                return


def _ensure_container(deps: Deps, account: str, container: str) -> bool:
    if containers.head(deps, account, container).status < 300:
        return False
    reply = containers.put(deps, account, container, {})
    if reply.status >= 300:
        raise _Status(reply.status)
    return True


class _Status(TinystackError):
    def __init__(self, status: int) -> None:
        self.status = status
        super().__init__(status_line(status))


def _create(
    deps: Deps, account: str, member: Member, tar: tarfile.TarFile, metadata: dict[str, str]
) -> None:
    meta = dict(metadata)
    if not meta.get("Content-Type"):
        meta["Content-Type"] = mimetypes.guess_type(member.obj)[0] or "application/octet-stream"
    path = ObjectPath(account, member.container, member.obj)
    upload = objects.begin_put(deps, path, meta, member.info.size, None)
    source = tar.extractfile(member.info)
    try:
        assert source is not None
        while chunk := source.read(1024 * 1024):
            upload.write([chunk])
    except BaseException:
        upload.abort()
        raise
    reply = upload.commit()
    if reply.status >= 300:
        raise _Status(reply.status)
