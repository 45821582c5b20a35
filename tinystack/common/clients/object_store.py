"""Object Storage (Swift v1) client for service-to-service use.

What the image service's ``swift`` store and the volume backup service's swift
container ask of the object store: containers (create, head, list by prefix with
``marker`` pages, delete), objects (PUT whole or streamed with chunked transfer
encoding, their md5 checked against the ETag the object store answers; GET whole,
into a buffer or streamed with a ``Range``; HEAD; DELETE; server-side copy with
``X-Copy-From``) and dynamic large object manifests (``X-Object-Manifest``).

Requests go to the catalog's ``object-store`` URL, ``/v1/AUTH_%(project_id)s`` filled
in by the :class:`~tinystack.common.clients.session.Session` with the service token's
project: the service's own account, as Glance's single-tenant store and Cinder's swift
backup driver use by default.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

from tinystack.common.clients.session import ClientError, ClientNotFound, Session

#: the catalog type of the object store
SERVICE = "object-store"
#: entries per listing page (Swift's default container_listing_limit)
LISTING_LIMIT = 10000
META_PREFIX = "x-object-meta-"


@dataclass(frozen=True, slots=True)
class ObjectEntry:
    """One entry of a container listing."""

    name: str
    size: int
    etag: str
    #: when it was last written (UTC), as the listing says
    last_modified: datetime | None = None


@dataclass(frozen=True, slots=True)
class ObjectHead:
    """What ``HEAD`` tells of an object."""

    size: int
    etag: str
    #: ``<container>/<prefix>`` of a dynamic large object's manifest, else None
    manifest: str | None = None
    #: the user metadata (``X-Object-Meta-<key>``), keys lower-cased without the prefix
    metadata: dict[str, str] = field(default_factory=dict)


def _path(container: str, obj: str | None = None) -> str:
    path = "/" + quote(container, safe="")
    return path if obj is None else f"{path}/{quote(obj, safe='/')}"


class ObjectStoreClient:
    """The service's account in the object store; thread-safe (one pooled session)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def available(self) -> bool:
        """Whether the cloud runs an object store (its catalog lists one)."""
        return self.session.has_service(SERVICE)

    def account_url(self) -> str:
        """The storage URL of the account (``.../v1/AUTH_<project>``)."""
        return self.session.endpoint(SERVICE)

    # -- containers ----------------------------------------------------------------------------
    def create_container(self, container: str, headers: Mapping[str, str] | None = None) -> None:
        """Create ``container`` (an existing one is kept: Swift answers 202)."""
        self.session.request(SERVICE, "PUT", _path(container), headers=headers, ok=(201, 202))

    def container_exists(self, container: str) -> bool:
        try:
            self.session.request(SERVICE, "HEAD", _path(container), ok=(200, 204))
        except ClientNotFound:
            return False
        return True

    def delete_container(self, container: str) -> bool:
        """Delete an empty container; False when it does not exist (409 when not empty)."""
        try:
            self.session.request(SERVICE, "DELETE", _path(container), ok=(204,))
        except ClientNotFound:
            return False
        return True

    def list_objects(self, container: str, prefix: str = "") -> list[ObjectEntry]:
        """Every object whose name starts with ``prefix``, in name order (all pages);
        ClientNotFound when the container does not exist."""
        found: list[ObjectEntry] = []
        marker = ""
        while True:
            params = {"format": "json", "limit": str(LISTING_LIMIT), "prefix": prefix}
            if marker:
                params["marker"] = marker
            response = self.session.request(
                SERVICE, "GET", _path(container), params=params, ok=(200, 204)
            )
            page = response.json() if response.content else []
            found += [
                ObjectEntry(
                    str(e["name"]),
                    int(e["bytes"]),
                    str(e.get("hash", "")),
                    _modified(e.get("last_modified")),
                )  # fmt: skip
                for e in page
                if "name" in e
            ]
            if len(page) < LISTING_LIMIT:
                return found
            marker = found[-1].name

    # -- objects -------------------------------------------------------------------------------
    def put_object(
        self,
        container: str,
        name: str,
        data: bytes | memoryview | Iterable[bytes],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> str:
        """Store ``data`` as ``name``; its ETag (the md5 of the data). Bytes go with their
        ETag for the object store to check (422 on a mismatch); an iterable goes with
        chunked transfer encoding and its md5, computed on the way, is checked against
        the ETag answered."""
        send = dict(headers or {})
        digest = hashlib.md5(usedforsecurity=False)
        content: bytes | Iterable[bytes]
        if isinstance(data, bytes | memoryview):
            content = bytes(data)
            digest.update(content)
            send["ETag"] = digest.hexdigest()
        else:
            content = _hashing(data, digest)
        response = self.session.request(
            SERVICE, "PUT", _path(container, name), content=content, headers=send, ok=(201,)
        )
        etag = str(response.headers.get("etag", "")).strip('"')
        if etag != digest.hexdigest():
            raise ClientError(SERVICE, 422, f"object {name}: stored ETag {etag} does not match")
        return etag

    def put_manifest(
        self, container: str, name: str, segments: str, headers: Mapping[str, str] | None = None
    ) -> None:
        """A dynamic large object: ``name`` reads as the concatenation of the objects
        whose names start with ``segments`` (``<container>/<prefix>``)."""
        send = {**(headers or {}), "X-Object-Manifest": segments}
        self.session.request(
            SERVICE, "PUT", _path(container, name), content=b"", headers=send, ok=(201,)
        )

    def copy_object(self, container: str, source: str, dest: str) -> None:
        """Server-side copy of ``source`` to ``dest`` in the same container."""
        headers = {"X-Copy-From": _path(container, source), "Content-Length": "0"}
        self.session.request(
            SERVICE, "PUT", _path(container, dest), content=b"", headers=headers, ok=(201,)
        )

    def head_object(self, container: str, name: str) -> ObjectHead | None:
        try:
            response = self.session.request(SERVICE, "HEAD", _path(container, name), ok=(200,))
        except ClientNotFound:
            return None
        h = response.headers
        return ObjectHead(
            size=int(h.get("content-length", "0")),
            etag=h.get("etag", "").strip('"'),
            manifest=h.get("x-object-manifest"),
            metadata={
                k[len(META_PREFIX) :]: v for k, v in h.items() if k.lower().startswith(META_PREFIX)
            },
        )

    def get_object(self, container: str, name: str) -> bytes:
        """The whole object; ClientNotFound when absent."""
        return self.session.request(SERVICE, "GET", _path(container, name), ok=(200,)).content

    def read_object_into(
        self, container: str, name: str, buffer: bytearray | mmap.mmap
    ) -> memoryview:
        """The object read into ``buffer`` when it fits (a fresh buffer otherwise)."""
        with self.open_object(container, name) as response:
            size = int(response.headers.get("content-length", "-1"))
            if size < 0 or size > len(buffer):
                return memoryview(response.read())
            view = memoryview(buffer)
            got = 0
            for chunk in response.iter_bytes():
                view[got : got + len(chunk)] = chunk
                got += len(chunk)
            if got != size:
                raise ClientError(SERVICE, 0, f"object {name}: {got} of {size} bytes came")
            return view[:got]

    @contextlib.contextmanager
    def open_object(
        self, container: str, name: str, offset: int = 0, length: int | None = None
    ) -> Iterator[httpx.Response]:
        """The object's response with its body unread (iterate ``iter_bytes()``), from
        ``offset`` for ``length`` bytes (to the end when None)."""
        headers = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            headers["Range"] = f"bytes={offset}-{end}"
        with self.session.stream(
            SERVICE, "GET", _path(container, name), headers=headers, ok=(200, 206)
        ) as response:
            yield response

    def delete_object(self, container: str, name: str) -> bool:
        """Delete ``name``; False when it was not there."""
        try:
            self.session.request(SERVICE, "DELETE", _path(container, name), ok=(204,))
        except ClientNotFound:
            return False
        return True


def _modified(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        found = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _hashing(chunks: Iterable[bytes], digest: hashlib._Hash) -> Iterator[bytes]:
    for chunk in chunks:
        if chunk:
            digest.update(chunk)
            yield bytes(chunk)
