"""A read-only store for image data served over HTTP(S) (Glance's ``http`` store).

It backs locations that point at a web server (``POST /v2/images/{id}/locations``
with an ``http://`` URL): downloads stream from the URL, with ``Range`` for partial
reads. It takes no uploads. Which URLs it may fetch is decided by the caller (the
import URI filter); the addresses it connects to, redirects included, by ``[DEFAULT]
outbound_*_networks`` (``common/outbound.py``) on every request.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import httpx

from tinystack.common.outbound import AddressFilter
from tinystack.image.store.base import DataNotFound, DataReader, Store, StoreError, StoreWriter


class HttpReader(DataReader):
    def __init__(self, client: httpx.Client, url: str, offset: int, length: int | None) -> None:
        headers = {}
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            headers["Range"] = f"bytes={offset}-{end}"
        self._stream = client.stream("GET", url, headers=headers, follow_redirects=True)
        try:
            self._response = self._stream.__enter__()
        except httpx.HTTPError as exc:
            raise StoreError(f"cannot fetch {url}: {exc}") from exc
        status = self._response.status_code
        if status == 404:
            self.close()
            raise DataNotFound(url)
        if status >= 400:
            self.close()
            raise StoreError(f"{url} answered {status}")
        total = int(self._response.headers.get("content-length", "0") or 0)
        if status == 200 and offset:
            self.close()
            raise StoreError(f"{url} does not serve byte ranges")
        self.size = length if length is not None else total
        self._chunks: Iterator[bytes] = self._response.iter_bytes()
        self._remaining = self.size

    def read(self) -> bytes:
        if self._remaining <= 0:
            return b""
        try:
            chunk = next(self._chunks, b"")
        except httpx.HTTPError as exc:
            raise StoreError(f"reading failed: {exc}") from exc
        if not chunk:
            raise StoreError("the stored data ended early")
        chunk = chunk[: self._remaining]
        self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        self._stream.__exit__(None, None, None)


class HttpStore(Store):
    type = "http"
    read_only = True

    def __init__(
        self,
        *,
        store_id: str = "http",
        description: str = "",
        weight: int = 0,
        outbound: AddressFilter | None = None,
    ) -> None:
        self.id = store_id
        self.description = description or "Read-only store of image data served over HTTP"
        self.weight = weight
        hooks = (outbound or AddressFilter()).hooks()
        self._client = httpx.Client(timeout=60.0, event_hooks=hooks)

    def handles(self, location: str) -> bool:
        return urlparse(location).scheme in ("http", "https")

    def open_writer(self, key: str) -> StoreWriter:
        raise StoreError("the http store is read-only")

    def open_reader(self, location: str, offset: int = 0, length: int | None = None) -> DataReader:
        return HttpReader(self._client, location, offset, length)

    def size(self, location: str) -> int:
        try:
            response = self._client.head(location, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise StoreError(f"cannot reach {location}: {exc}") from exc
        if response.status_code == 404:
            raise DataNotFound(location)
        if response.status_code >= 400:
            raise StoreError(f"{location} answered {response.status_code}")
        return int(response.headers.get("content-length", "0") or 0)

    def delete(self, location: str) -> None:
        """Nothing to delete: the data belongs to the web server."""
