"""The Fernet key repository: numbered key files, as Keystone lays them out.

Key ``0`` is the staged key (the next primary), the highest number is the
primary key (encrypts), and every key decrypts. Rotation promotes the staged
key, stages a new one, and drops the oldest secondary keys beyond
``max_active_keys``.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from cryptography.fernet import Fernet, MultiFernet


class KeyRepository:
    RELOAD_INTERVAL = 1.0

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fernet: MultiFernet | None = None
        self._loaded_mtime = -1.0
        self._checked_at = 0.0

    def _key_files(self) -> dict[int, Path]:
        keys: dict[int, Path] = {}
        if not self.path.is_dir():
            return keys
        for entry in self.path.iterdir():
            if entry.name.isdigit():
                keys[int(entry.name)] = entry
        return keys

    @staticmethod
    def _write_key(path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
        os.replace(tmp, path)

    def setup(self) -> bool:
        """Create a repository with a staged and a primary key; False if present."""
        self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self._key_files():
            return False
        self._write_key(self.path / "0")
        self._write_key(self.path / "1")
        return True

    def rotate(self, max_active_keys: int = 3) -> int:
        """Promote the staged key to primary; return the new primary's number."""
        keys = self._key_files()
        if not keys:
            self.setup()
            keys = self._key_files()
        new_primary = max(keys) + 1
        os.replace(keys[0], self.path / str(new_primary))
        self._write_key(self.path / "0")
        keys = self._key_files()
        secondaries = sorted(k for k in keys if k not in (0, new_primary))
        excess = len(keys) - max_active_keys
        for number in secondaries[: max(excess, 0)]:
            keys[number].unlink()
        os.utime(self.path)
        return new_primary

    def primary_key(self) -> bytes:
        """The key new data is encrypted with (the highest number)."""
        keys = self._key_files()
        primary = max((n for n in keys if n != 0), default=0)
        if not keys:
            raise RuntimeError(f"no Fernet keys in {self.path}")
        return keys[primary].read_bytes().strip()

    def fernet(self) -> MultiFernet:
        """The MultiFernet of all keys, primary first; reloaded when the directory changes."""
        now = time.monotonic()
        if self._fernet is not None and now - self._checked_at < self.RELOAD_INTERVAL:
            return self._fernet
        with self._lock:
            mtime = self.path.stat().st_mtime if self.path.is_dir() else -1.0
            self._checked_at = now
            if self._fernet is None or mtime != self._loaded_mtime:
                keys = self._key_files()
                if not keys:
                    raise RuntimeError(f"no Fernet keys in {self.path}")
                ordered = [keys[n] for n in sorted(keys, reverse=True) if n != 0]
                if 0 in keys:
                    ordered.append(keys[0])
                self._fernet = MultiFernet([Fernet(p.read_bytes().strip()) for p in ordered])
                self._loaded_mtime = mtime
            return self._fernet
