"""Where streamed image data goes: hashed, inspected and written in one pass.

md5 (``checksum``) and the ``os_hash_value`` digest are computed while the data
streams. md5, the slowest and inherently serial, runs on a helper thread
(hashlib releases the GIL) while the calling thread computes the other digest,
feeds the format inspector and writes, so the work spreads over two cores.
Memory use is the chunks in flight only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tinystack.common.exceptions import RequestEntityTooLarge
from tinystack.image.services.format_inspection import Inspection, StreamInspector
from tinystack.image.store.base import StoreWriter


@dataclass(frozen=True)
class Digest:
    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str
    inspection: Inspection


def _update(hasher: hashlib._Hash, chunks: Sequence[bytes]) -> None:
    for chunk in chunks:
        hasher.update(chunk)


class DataSink:
    """Accepts chunks until :meth:`finish`; refuses data beyond ``max_bytes`` with 413."""

    def __init__(
        self, writer: StoreWriter, *, hash_algo: str, max_bytes: int, too_large: str
    ) -> None:
        self.writer = writer
        self.size = 0
        self._max_bytes = max_bytes
        self._too_large = too_large
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._hash_algo = hash_algo
        self._hash = hashlib.new(hash_algo)
        self._inspector = StreamInspector()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="image-hash")

    def write(self, chunks: Sequence[bytes]) -> None:
        total = sum(len(c) for c in chunks)
        if self.size + total > self._max_bytes:
            raise RequestEntityTooLarge(self._too_large)
        self.size += total
        future = self._pool.submit(_update, self._md5, chunks)
        try:
            for chunk in chunks:
                self._hash.update(chunk)
                self._inspector.feed(chunk)
            self.writer.write(chunks)
        finally:
            future.result()

    def finish(self) -> Digest:
        self._pool.shutdown()
        return Digest(
            size=self.size,
            checksum=self._md5.hexdigest(),
            os_hash_algo=self._hash_algo,
            os_hash_value=self._hash.hexdigest(),
            inspection=self._inspector.finish(),
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
