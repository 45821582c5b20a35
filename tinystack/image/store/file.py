"""A store on the local filesystem: one file per image under a directory.

Writes go to ``<key>.<random>.partial`` and are renamed into place on commit,
so readers never see half an image and an aborted upload leaves no file.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import unquote, urlparse

from tinystack.image.store.base import DataNotFound, DataReader, Store, StoreError, StoreWriter

PARTIAL_SUFFIX = ".partial"


class FileWriter(StoreWriter):
    def __init__(self, final: Path) -> None:
        self._final = final
        self._partial = final.with_name(f"{final.name}.{uuid.uuid4().hex}{PARTIAL_SUFFIX}")
        self._fd: int | None = os.open(
            self._partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o640
        )

    def write(self, chunks: Iterable[bytes]) -> None:
        if self._fd is None:
            raise StoreError("the writer is closed")
        fd = self._fd
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                written = os.write(fd, view)
                view = view[written:]

    def commit(self) -> str:
        if self._fd is None:
            raise StoreError("the writer is closed")
        os.close(self._fd)
        self._fd = None
        os.replace(self._partial, self._final)
        return self._final.as_uri()

    def abort(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._partial)


class FileReader(DataReader):
    def __init__(self, path: Path, offset: int, length: int | None, chunk_size: int) -> None:
        try:
            self._file = open(path, "rb", buffering=0)  # closed by close()
        except FileNotFoundError:
            raise DataNotFound(str(path)) from None
        total = os.fstat(self._file.fileno()).st_size
        self.size = max(0, total - offset) if length is None else length
        self._remaining = self.size
        self._chunk_size = chunk_size
        if offset:
            self._file.seek(offset)

    def read(self) -> bytes:
        if self._remaining <= 0:
            return b""
        chunk = self._file.read(min(self._chunk_size, self._remaining))
        if not chunk:
            raise StoreError("the stored data ended early")
        self._remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        self._file.close()


class FileStore(Store):
    type = "file"

    def __init__(
        self,
        root: Path,
        *,
        chunk_size: int = 1024 * 1024,
        store_id: str = "file",
        description: str = "Local filesystem store",
        weight: int = 0,
    ) -> None:
        self.id = store_id
        self.description = description
        self.weight = weight
        self.root = root
        self.chunk_size = chunk_size
        self.root.mkdir(parents=True, exist_ok=True)

    def handles(self, location: str) -> bool:
        try:
            self._path(location)
        except StoreError:
            return False
        return True

    def properties(self) -> dict[str, object]:
        return {"datadir": str(self.root), "chunk_size": self.chunk_size}

    def _path(self, location: str) -> Path:
        parsed = urlparse(location)
        if parsed.scheme != "file":
            raise StoreError(f"not a file store location: {location}")
        path = Path(unquote(parsed.path))
        if path.parent != self.root:
            raise StoreError(f"location outside the store: {location}")
        return path

    def path_of(self, location: str) -> Path:
        """The file holding the data at ``location`` (for tools that need a path: qemu-img)."""
        return self._path(location)

    def open_writer(self, key: str) -> FileWriter:
        if not key or "/" in key or key.startswith("."):
            raise StoreError(f"invalid key {key!r}")
        return FileWriter(self.root / key)

    def open_reader(self, location: str, offset: int = 0, length: int | None = None) -> FileReader:
        return FileReader(self._path(location), offset, length, self.chunk_size)

    def size(self, location: str) -> int:
        try:
            return self._path(location).stat().st_size
        except FileNotFoundError:
            raise DataNotFound(location) from None

    def delete(self, location: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(location).unlink()

    def adopt(self, source: Store, location: str, key: str) -> str:
        if isinstance(source, FileStore):
            target = self.root / key
            try:
                os.replace(source._path(location), target)
            except OSError as exc:
                if exc.errno != 18:  # EXDEV: another filesystem, copy instead
                    raise
            else:
                return target.as_uri()
        return super().adopt(source, location, key)

    def partial_files(self) -> list[Path]:
        """Leftovers of uploads interrupted by a crash."""
        return sorted(self.root.glob(f"*{PARTIAL_SUFFIX}"))
