"""A store in the object store (Glance's ``swift`` store, single-tenant).

Image data lives in the image service's own account (``AUTH_<service project>``) in one
container (``swift_store_container``, ``glance`` by default; created on the first
upload when ``swift_store_create_container_on_put``), reached with the service's
credentials through :class:`~tinystack.common.clients.object_store.ObjectStoreClient`.
The location is the object's URL with the ``swift+http`` scheme:
``swift+http://<host>:<port>/v1/AUTH_<project>/<container>/<image id>``.

Uploads stream: the bytes given to the writer go to the object store in one PUT with
chunked transfer encoding (a thread sends the request while the caller pushes chunks
through a small queue), and the md5 of what was sent is checked against the ETag the
object store answers. Up to ``swift_store_large_object_size`` bytes the image is one
object. Beyond it the image becomes a dynamic large object, as Glance writes one: the
bytes so far are copied (server side) to segment ``<image id>-00001``, the rest goes to
segments ``<image id>-00002`` ... of ``swift_store_large_object_chunk_size`` bytes, and
on commit ``<image id>`` is replaced by a manifest (``X-Object-Manifest:
<container>/<image id>-``). When the object store expands manifests (it then shows
``X-Object-Manifest`` on HEAD, as ours does with its large-object support), reads take
the object as it comes, ranges included. For an object store that keeps a manifest as
an empty object, the manifest also carries ``X-Object-Meta-Tinystack-Manifest`` and
this store reassembles the segments itself on read (in name order, from the container
listing, as a DLO does).

An aborted upload deletes what it wrote (a PUT cut mid-body stores nothing); deleting a
location removes the object and every ``<image id>-`` segment, so leftovers of an
upload a crash interrupted go with the image.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import httpx

from tinystack.common.clients.object_store import ObjectStoreClient
from tinystack.common.clients.session import ClientError, ClientNotFound
from tinystack.image.store.base import DataNotFound, DataReader, Store, StoreError, StoreWriter

MiB = 1024 * 1024
SCHEMES = ("swift+http", "swift+https", "swift")
#: user metadata of a manifest this store reassembles itself
MANIFEST_META = "tinystack-manifest"
_END = object()
#: an image's object, or one of its segments: the key is the first group
_KEY = re.compile(r"^(.+?)(?:-\d{5})?$")


class _Cancelled(Exception):
    """The writer was aborted: the PUT is cut off mid-body."""


class _StreamingPut:
    """One object PUT whose body the caller pushes chunk by chunk from its own thread."""

    def __init__(self, client: ObjectStoreClient, container: str, name: str) -> None:
        self.name = name
        self.sent = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(client, container), name=f"swift-put-{name}", daemon=True
        )
        self._thread.start()

    def _body(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if not isinstance(item, bytes):
                raise _Cancelled()
            yield item

    def _run(self, client: ObjectStoreClient, container: str) -> None:
        try:
            client.put_object(container, self.name, self._body())
        except BaseException as exc:  # reported to the caller by push/finish
            self._error = exc
            # unblock a caller waiting on a full queue
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()

    def _put(self, item: object) -> None:
        while True:
            if self._error is not None or not self._thread.is_alive():
                raise StoreError(f"cannot write {self.name}: {self._error}")
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def push(self, chunk: bytes) -> None:
        self._put(chunk)
        self.sent += len(chunk)

    def finish(self) -> None:
        self._put(_END)
        self._thread.join()
        if self._error is not None:
            raise StoreError(f"cannot write {self.name}: {self._error}")

    def cancel(self) -> None:
        if self._thread.is_alive():
            with contextlib.suppress(StoreError):
                self._put(None)
        self._thread.join()


class SwiftWriter(StoreWriter):
    def __init__(self, store: SwiftStore, key: str) -> None:
        self._store = store
        self._client = store.client
        self._key = key
        #: names written so far (the object, then segments)
        self._written: list[str] = []
        self._segments = 0
        self._closed = False
        store.ensure_container()
        self._put: _StreamingPut | None = self._start(key)

    def _start(self, name: str) -> _StreamingPut:
        self._written.append(name)
        return _StreamingPut(self._client, self._store.container, name)

    def _limit(self) -> int:
        """Bytes the current object may take."""
        return self._store.chunk_size if self._segments else self._store.large_object_size

    def write(self, chunks: Iterable[bytes]) -> None:
        if self._closed or self._put is None:
            raise StoreError("the writer is closed")
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                room = self._limit() - self._put.sent
                if room <= 0:
                    self._next_segment()
                    continue
                self._put.push(bytes(view[:room]))
                view = view[room:]

    def _next_segment(self) -> None:
        """The current object is full: it becomes (or is) a segment, a new one starts."""
        assert self._put is not None
        self._put.finish()
        client, container = self._client, self._store.container
        try:
            if not self._segments:
                # the image so far becomes the first segment (a server-side copy)
                first = f"{self._key}-00001"
                self._written.append(first)
                client.copy_object(container, self._key, first)
                self._segments = 1
            self._segments += 1
            self._put = self._start(f"{self._key}-{self._segments:05d}")
        except ClientError as exc:
            self._put = None
            raise StoreError(f"cannot write a segment of {self._key}: {exc}") from exc

    def commit(self) -> str:
        if self._closed or self._put is None:
            raise StoreError("the writer is closed")
        put, self._put = self._put, None
        try:
            put.finish()
            if self._segments:
                self._write_manifest()
        except (ClientError, StoreError) as exc:
            self.abort()
            raise StoreError(f"cannot store {self._key}: {exc}") from exc
        except BaseException:
            self.abort()
            raise
        self._closed = True
        return self._store.location(self._key)

    def _write_manifest(self) -> None:
        container, prefix = self._store.container, f"{self._key}-"
        listed = [e.name for e in self._client.list_objects(container, prefix)]
        wanted = [f"{self._key}-{i:05d}" for i in range(1, self._segments + 1)]
        if listed != wanted:
            raise StoreError(f"the segments of {self._key} are not all listed")
        self._client.put_manifest(
            container, self._key, f"{container}/{prefix}",
            headers={f"X-Object-Meta-{MANIFEST_META}": f"{container}/{prefix}"},
        )  # fmt: skip

    def abort(self) -> None:
        if self._closed:
            return
        self._closed = True
        put, self._put = self._put, None
        if put is not None:
            put.cancel()
        for name in self._written:
            with contextlib.suppress(ClientError):
                self._client.delete_object(self._store.container, name)


@dataclass(frozen=True, slots=True)
class _Part:
    """A byte range of one object."""

    name: str
    offset: int
    length: int


class SwiftReader(DataReader):
    """Reads parts (an object, or the segments of a manifest) in order, streamed."""

    def __init__(self, store: SwiftStore, parts: list[_Part]) -> None:
        self._client = store.client
        self._container = store.container
        self._chunk = store.io_chunk_size
        self._parts = parts
        self.size = sum(p.length for p in parts)
        self._stack = contextlib.ExitStack()
        self._chunks: Iterator[bytes] | None = None
        self._remaining = 0

    def read(self) -> bytes:
        while True:
            if self._chunks is not None:
                try:
                    chunk = next(self._chunks)
                except StopIteration:
                    chunk = b""
                except httpx.HTTPError as exc:
                    raise StoreError(f"reading image data failed: {exc}") from exc
                if chunk:
                    self._remaining -= len(chunk)
                    return chunk
                if self._remaining:
                    raise StoreError("the stored data ended early")
                self._stack.close()
                self._chunks = None
            if not self._parts:
                return b""
            self._open(self._parts.pop(0))

    def _open(self, part: _Part) -> None:
        if part.length <= 0:
            return
        try:
            response = self._stack.enter_context(
                self._client.open_object(self._container, part.name, part.offset, part.length)
            )
        except ClientNotFound:
            raise DataNotFound(part.name) from None
        except ClientError as exc:
            raise StoreError(f"cannot read {part.name}: {exc}") from exc
        self._chunks = response.iter_bytes(self._chunk)
        self._remaining = part.length

    def close(self) -> None:
        self._parts = []
        self._chunks = None
        self._stack.close()


class SwiftStore(Store):
    type = "swift"

    def __init__(
        self,
        client: ObjectStoreClient,
        *,
        store_id: str = "swift",
        description: str = "",
        weight: int = 0,
        container: str = "glance",
        create_container_on_put: bool = True,
        large_object_size: int = 5120 * MiB,
        chunk_size: int = 200 * MiB,
        io_chunk_size: int = MiB,
    ) -> None:
        self.id = store_id
        self.description = description or f"Object storage store {store_id}"
        self.weight = weight
        self.client = client
        self.container = container
        self.create_container_on_put = create_container_on_put
        self.large_object_size = large_object_size
        self.chunk_size = chunk_size
        self.io_chunk_size = io_chunk_size
        self._container_known = False

    def properties(self) -> dict[str, object]:
        return {
            "container": self.container,
            "large_object_size": self.large_object_size,
            "large_object_chunk_size": self.chunk_size,
        }

    # -- locations -----------------------------------------------------------------------------
    def location(self, key: str) -> str:
        url = urlparse(self.client.account_url())
        scheme = "swift+https" if url.scheme == "https" else "swift+http"
        return f"{scheme}://{url.netloc}{url.path}/{self.container}/{key}"

    def handles(self, location: str) -> bool:
        try:
            self._object(location)
        except StoreError:
            return False
        return True

    def _object(self, location: str) -> str:
        """The object a location names (in this store's container)."""
        parsed = urlparse(location)
        if parsed.scheme not in SCHEMES:
            raise StoreError(f"not a swift store location: {location}")
        parts = unquote(parsed.path).rstrip("/").split("/")
        if len(parts) < 3 or parts[-2] != self.container or not parts[-1]:
            raise StoreError(f"location outside the store: {location}")
        return parts[-1]

    # -- data ----------------------------------------------------------------------------------
    def ensure_container(self) -> None:
        if self._container_known:
            return
        try:
            if not self.client.container_exists(self.container):
                if not self.create_container_on_put:
                    raise StoreError(f"container {self.container} does not exist")
                self.client.create_container(self.container)
        except ClientError as exc:
            raise StoreError(f"cannot reach the object store: {exc}") from exc
        self._container_known = True

    def open_writer(self, key: str) -> StoreWriter:
        if not key or "/" in key:
            raise StoreError(f"invalid key {key!r}")
        try:
            return SwiftWriter(self, key)
        except ClientError as exc:
            raise StoreError(f"cannot store image data: {exc}") from exc

    def _parts(self, name: str) -> list[_Part]:
        """The object, or the segments of a manifest this store reassembles."""
        try:
            head = self.client.head_object(self.container, name)
            if head is None:
                raise DataNotFound(name)
            segments = head.metadata.get(MANIFEST_META)
            if head.manifest is not None or not segments:
                return [_Part(name, 0, head.size)]
            container, _, prefix = segments.partition("/")
            if container != self.container:
                raise StoreError(f"manifest {name} names another container")
            listed = self.client.list_objects(self.container, prefix)
        except ClientError as exc:
            raise StoreError(f"cannot reach the object store: {exc}") from exc
        return [_Part(e.name, 0, e.size) for e in listed]

    def open_reader(self, location: str, offset: int = 0, length: int | None = None) -> DataReader:
        parts = self._parts(self._object(location))
        total = sum(p.length for p in parts)
        end = total if length is None else min(total, offset + length)
        chosen: list[_Part] = []
        start = 0
        for part in parts:
            lo, hi = max(offset, start), min(end, start + part.length)
            if lo < hi:
                chosen.append(_Part(part.name, lo - start, hi - lo))
            start += part.length
        return SwiftReader(self, chosen)

    def size(self, location: str) -> int:
        return sum(p.length for p in self._parts(self._object(location)))

    def key_of(self, location: str) -> str | None:
        """The image key a location of this store names (None: not this store's)."""
        try:
            return self._object(location)
        except StoreError:
            return None

    def stale_keys(self, older_than: float) -> list[str]:
        """Keys whose objects (the image's object and its segments) were all written
        more than ``older_than`` seconds ago: candidates for leftovers of uploads a
        crash interrupted (an upload still running keeps writing segments)."""
        try:
            listed = self.client.list_objects(self.container)
        except ClientNotFound:
            return []
        except ClientError as exc:
            raise StoreError(f"cannot list {self.container}: {exc}") from exc
        newest: dict[str, float] = {}
        for entry in listed:
            match = _KEY.match(entry.name)
            if match is None:
                continue
            stamp = entry.last_modified.timestamp() if entry.last_modified else time.time()
            key = match[1]
            newest[key] = max(newest.get(key, 0.0), stamp)
        cutoff = time.time() - older_than
        return sorted(k for k, stamp in newest.items() if stamp < cutoff)

    def delete(self, location: str) -> None:
        name = self._object(location)
        try:
            # the manifest first: no reader sees an image with segments missing
            self.client.delete_object(self.container, name)
            for entry in self.client.list_objects(self.container, f"{name}-"):
                self.client.delete_object(self.container, entry.name)
        except ClientNotFound:
            return
        except ClientError as exc:
            raise StoreError(f"cannot delete {location}: {exc}") from exc
