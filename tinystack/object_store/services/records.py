"""What the proxy's service layer returns: a storage answer (status, headers, body)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Reply:
    """The proxy's answer to one request, from the backend replies it gathered."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: a streamed body (object GET), instead of ``body``
    stream: Iterator[bytes] | None = None


@dataclass(frozen=True, slots=True)
class ListingEntry:
    """One row of a backend listing (see storage.broker.Entry)."""

    name: str
    timestamp: str
    count_or_size: int
    bytes_or_type: str
    etag: str
    subdir: bool
