"""Object reads for the features that look at what an object stands for (symlinks, large
objects): the raw backend reply with every stored header, the errors those features
answer with their own plain-text bodies, and the proxy's side of ranges and conditions
(a manifest's range and conditions apply to the object it describes, not to itself)."""

from __future__ import annotations

import email.utils
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from tinystack.object_store.services.accounts import backend
from tinystack.object_store.services.backend import NodeReply
from tinystack.object_store.services.deps import Deps
from tinystack.object_store.services.records import Reply

#: Swift's X-Backend-Ignore-Range-If-Metadata-Present (see storage.object_server)
IGNORE_RANGE = "X-Backend-Ignore-Range-If-Metadata-Present"
_RANGE = re.compile(r"^(\d*)-(\d*)$")
#: swob ignores a Range header with more ranges than this
MAX_RANGES = 50


class Refused(Exception):
    """A request the feature refuses with its own status, headers and plain body (as
    Swift's middlewares answer: ``text/plain``, not the HTML error page)."""

    def __init__(self, status: int, body: str | bytes, headers: dict[str, str] | None = None):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = {"Content-Type": "text/plain", **(headers or {})}
        super().__init__(self.body.decode(errors="replace"))

    @property
    def reply(self) -> Reply:
        return Reply(self.status, self.headers, self.body)


@dataclass(frozen=True, slots=True)
class Target:
    """An object by its names (what a symlink or a manifest segment names)."""

    account: str
    container: str
    obj: str

    @property
    def names(self) -> tuple[str, str, str]:
        return (self.account, self.container, self.obj)


@dataclass
class Found:
    """A backend object reply with all its stored headers (sysmeta included)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    reply: NodeReply | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    @property
    def etag(self) -> str:
        return (self.header("etag") or "").strip('"')

    @property
    def size(self) -> int:
        value = self.header("content-length") or "0"
        return int(value) if value.isdigit() else 0

    def body(self, limit: int) -> bytes:
        """Read the whole body (at most ``limit`` bytes); closes the connection."""
        if self.reply is None or self.reply.response is None:
            return b""
        try:
            return self.reply.response.read(limit)
        finally:
            self.close()

    def stream(self) -> Iterator[bytes] | None:
        if self.reply is None or self.reply.response is None:
            return None
        return self.reply.stream()

    def close(self) -> None:
        if self.reply is not None and self.reply.conn is not None:
            self.reply.conn.close()


def fetch(deps: Deps, target: Target, method: str, headers: dict[str, str]) -> Found:
    """GET or HEAD from the first good replica, every stored header kept."""
    ring = deps.rings.object
    reply = backend(deps).first_good(
        ring, ring.part(*target.names), method, target.names, headers, stream=method == "GET"
    )
    return Found(reply.status, reply.headers, reply)


# -- conditions and ranges on the object a manifest stands for ---------------------------
def _tags(header: str) -> set[str]:
    return {t.strip().strip('"') for t in header.split(",")}


def _date(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return email.utils.parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError):
        return None


def check_conditions(conditions: dict[str, str], etag: str, last_modified: str) -> int:
    """200, or the 412/304 the conditions of the request call for."""
    modified = _date(last_modified) or 0.0
    if_match = conditions.get("if-match")
    if if_match and not ({"*", etag} & _tags(if_match)):
        return 412
    if_none = conditions.get("if-none-match")
    if if_none and ({"*", etag} & _tags(if_none)):
        return 304
    unmodified_since = _date(conditions.get("if-unmodified-since"))
    if unmodified_since is not None and modified > unmodified_since:
        return 412
    modified_since = _date(conditions.get("if-modified-since"))
    if modified_since is not None and modified <= modified_since:
        return 304
    return 200


def byte_ranges(header: str | None, size: int) -> list[tuple[int, int]] | None:
    """The satisfiable ranges of a ``Range`` header as (first, last) inclusive, as swob
    computes them; None: answer the whole object (no header, or one swob ignores);
    an empty list: none is satisfiable (416)."""
    if not header or not header.strip().lower().startswith("bytes="):
        return None
    specs = header.strip()[6:].split(",")
    if len(specs) > MAX_RANGES:
        return None
    parsed: list[tuple[str, str]] = []
    for spec in specs:
        match = _RANGE.match(spec.strip())
        if match is None or match.groups() == ("", ""):
            return None
        first, last = match.groups()
        if first and last and int(last) < int(first):
            return None
        parsed.append((first, last))
    ranges = []
    for first, last in parsed:
        if not first:
            count = int(last)
            if count and size:
                ranges.append((max(0, size - count), size - 1))
            continue
        start = int(first)
        if start < size:
            ranges.append((start, min(int(last), size - 1) if last else size - 1))
    return ranges


def multipart(
    ranges: list[tuple[int, int]], size: int, content_type: str,
    parts: Iterator[Iterator[bytes]],
) -> tuple[str, int, Iterator[bytes]]:  # fmt: skip
    """A ``multipart/byteranges`` body: (its content type, length, chunks)."""
    boundary = uuid.uuid4().hex
    heads = [
        (f"--{boundary}\r\nContent-Type: {content_type}\r\n"
         f"Content-Range: bytes {first}-{last}/{size}\r\n\r\n").encode()
        for first, last in ranges
    ]  # fmt: skip
    tail = f"--{boundary}--".encode()
    sizes = (last - first + 1 for first, last in ranges)
    length = sum(len(h) + n + 2 for h, n in zip(heads, sizes, strict=True))
    length += len(tail)

    def body() -> Iterator[bytes]:
        for head, part in zip(heads, parts, strict=False):
            yield head
            yield from part
            yield b"\r\n"
        yield tail

    return f"multipart/byteranges;boundary={boundary}", length, body()
