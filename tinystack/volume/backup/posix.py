"""Containers as directories: ``<root>/<container>/<object name>``.

Object names may contain ``/`` (the chunked driver's prefixes do, as Swift allows), so
they map to subdirectories; ``..`` and absolute names are refused. An object is written
to a hidden temporary file and renamed into place, so a reader or a crash never sees
part of one.
"""

from __future__ import annotations

import os
from pathlib import Path

from tinystack.volume.backup.base import ObjectContainer, ObjectNotFound, ObjectStore


def _safe(name: str) -> str:
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad object or container name {name!r}")
    if any(p.startswith(".tmp-") for p in parts):
        raise ValueError(f"bad object name {name!r}")
    return name


class PosixContainer(ObjectContainer):
    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name

    def _file(self, name: str) -> Path:
        return self.path / _safe(name)

    def put_object(self, name: str, data: bytes | memoryview) -> None:
        dest = self._file(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".tmp-{dest.name}")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)

    def get_object(self, name: str) -> bytes:
        try:
            return self._file(name).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object {name} in container {self.name}") from exc

    def read_object(self, name: str, buffer: bytearray) -> memoryview:
        try:
            with open(self._file(name), "rb", buffering=0) as f:
                size = os.fstat(f.fileno()).st_size
                if size > len(buffer):
                    return memoryview(f.read())
                view = memoryview(buffer)[:size]
                got = 0
                while got < size:
                    more = f.readinto(view[got:])
                    if not more:
                        break
                    got += more
                return view[:got]
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object {name} in container {self.name}") from exc

    def delete_object(self, name: str) -> None:
        path = self._file(name)
        path.unlink(missing_ok=True)
        # drop directories the object leaves empty (never the container itself)
        parent = path.parent
        while parent != self.path:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def list_objects(self, prefix: str = "") -> list[str]:
        found = []
        # walk only below the deepest directory the prefix names
        base = self.path / prefix.rsplit("/", 1)[0] if "/" in prefix else self.path
        for dirpath, _dirs, files in os.walk(base):
            rel = os.path.relpath(dirpath, self.path)
            for file in files:
                if file.startswith(".tmp-"):
                    continue
                name = file if rel == "." else f"{rel}/{file}"
                if name.startswith(prefix):
                    found.append(name)
        return sorted(found)


class PosixObjectStore(ObjectStore):
    """Containers under ``root`` (a directory on the backup host)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def container(self, name: str, create: bool = True) -> ObjectContainer:
        if "/" in name:
            raise ValueError(f"bad container name {name!r}")
        path = self.root / _safe(name)
        if create:
            path.mkdir(parents=True, exist_ok=True)
        elif not path.is_dir():
            raise ObjectNotFound(f"no container {name}")
        return PosixContainer(path, name)
