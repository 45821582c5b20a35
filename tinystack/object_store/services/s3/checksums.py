"""The additional checksums S3 validates on upload (``x-amz-checksum-<algorithm>``, in a
header or an aws-chunked trailer): CRC32, CRC32C, SHA-1 and SHA-256, base64 of the
big-endian digest, as current SDKs compute them."""

from __future__ import annotations

import base64
import hashlib
import zlib
from typing import Protocol

ALGORITHMS = ("crc32", "crc32c", "sha1", "sha256")


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


class Checksum(Protocol):
    def update(self, data: bytes) -> None: ...

    def digest(self) -> bytes: ...


class Crc32:
    def __init__(self) -> None:
        self.value = 0

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)

    def digest(self) -> bytes:
        return self.value.to_bytes(4, "big")


class Crc32c:
    """CRC-32C (Castagnoli), table-driven (no C extension is installed for it)."""

    def __init__(self) -> None:
        self.value = 0xFFFFFFFF

    def update(self, data: bytes) -> None:
        crc, table = self.value, _CRC32C
        for byte in data:
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        self.value = crc

    def digest(self) -> bytes:
        return (self.value ^ 0xFFFFFFFF).to_bytes(4, "big")


def new(algorithm: str) -> Checksum:
    if algorithm == "crc32":
        return Crc32()
    if algorithm == "crc32c":
        return Crc32c()
    return hashlib.new(algorithm)


def encode(value: Checksum) -> str:
    return base64.b64encode(value.digest()).decode()
