"""What the S3 service layer returns to the S3 handlers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class BucketEntry:
    name: str
    created: float


@dataclass(frozen=True, slots=True)
class ObjectHead:
    key: str
    size: int
    etag: str  # S3's form, without quotes ("<md5>" or "<md5 of md5s>-<parts>")
    last_modified: float
    content_type: str
    #: user metadata, lower-case names without ``x-amz-meta-``
    metadata: dict[str, str] = field(default_factory=dict)
    #: other stored headers S3 answers (Content-Disposition, Content-Encoding)
    headers: dict[str, str] = field(default_factory=dict)
    #: the object is a multipart upload's manifest
    parts: int = 0
    #: its version ("" in a bucket that never had versioning)
    version_id: str = ""


@dataclass(frozen=True, slots=True)
class ObjectBody:
    head: ObjectHead
    status: int  # 200 or 206
    length: int
    content_range: str
    stream: Iterator[bytes]


@dataclass(frozen=True, slots=True)
class Written:
    """An object (or a part) just stored."""

    etag: str
    last_modified: float
    #: the additional checksums the request asked for (algorithm -> base64)
    checksums: dict[str, str] = field(default_factory=dict)
    version_id: str = ""


@dataclass(frozen=True, slots=True)
class Deleted:
    """What a DELETE did in a versioned bucket: the version it made or removed."""

    version_id: str = ""
    delete_marker: bool = False


@dataclass(frozen=True, slots=True)
class ListedObject:
    key: str
    size: int
    etag: str
    last_modified: float


@dataclass(frozen=True, slots=True)
class Listing:
    objects: tuple[ListedObject, ...]
    prefixes: tuple[str, ...]
    truncated: bool
    #: the last key or common prefix given (the next page starts after it)
    last: str


@dataclass(frozen=True, slots=True)
class Grants:
    """A bucket's (or object's) ACL as Swift's container ACLs can express it."""

    owner: str
    public_read: bool = False
    authenticated_read: bool = False


@dataclass(frozen=True, slots=True)
class Upload:
    key: str
    upload_id: str
    initiated: float


@dataclass(frozen=True, slots=True)
class Part:
    number: int
    size: int
    etag: str
    last_modified: float


@dataclass(frozen=True, slots=True)
class ListedVersion:
    key: str
    version_id: str
    latest: bool
    delete_marker: bool
    size: int
    etag: str
    last_modified: float
