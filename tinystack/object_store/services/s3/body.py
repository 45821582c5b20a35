"""An S3 upload's body on its way in: aws-chunked decoding (``Content-Encoding:
aws-chunked``, with each chunk's signature checked for ``STREAMING-AWS4-HMAC-SHA256-
PAYLOAD`` and the trailer's for ``...-TRAILER``), and the digests the request promised:
``x-amz-content-sha256``, ``Content-MD5`` and the ``x-amz-checksum-*`` additional
checksums (in headers or in the trailer). Nothing is stored until ``finish`` agreed."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field

from tinystack.object_store.services.s3 import checksums, signing
from tinystack.object_store.services.s3.errors import S3Error
from tinystack.object_store.services.s3.signing import SignedRequest

MAX_LINE = 4096


@dataclass(frozen=True, slots=True)
class BodyChecks:
    """What the request says of its body."""

    content_md5: str | None = None
    #: the payload hash of a V4 signature (hex, UNSIGNED-PAYLOAD or a STREAMING-* mode)
    payload_hash: str = signing.UNSIGNED
    #: algorithm -> base64 value from ``x-amz-checksum-<algorithm>`` headers
    checksums: dict[str, str] = field(default_factory=dict)
    #: ``x-amz-trailer``: the checksum header the aws-chunked trailer carries
    trailer: str = ""
    aws_chunked: bool = False
    decoded_length: int | None = None


def _algorithm(header: str) -> str:
    name = header.lower().removeprefix("x-amz-checksum-")
    if name not in checksums.ALGORITHMS:
        raise S3Error("InvalidRequest", f"The value specified in the x-amz-trailer header is "
                      f"not supported: {header}")  # fmt: skip
    return name


class BodyReader:
    """Feed the body as it arrives; get the object's bytes back; ``finish`` checks."""

    def __init__(self, checks: BodyChecks, signed: SignedRequest | None, secret: str) -> None:
        self.checks = checks
        self.signed = signed
        mode = checks.payload_hash
        self.signed_chunks = mode in (signing.STREAMING, signing.STREAMING_TRAILER)
        self.chunked = checks.aws_chunked or mode.startswith("STREAMING-")
        if self.signed_chunks and (signed is None or not secret):
            raise S3Error("AccessDenied", "Signed chunks need a V4 signature and a known key")
        self.key = signing.signing_key(secret, signed.scope) if self.signed_chunks and signed \
            else b""  # fmt: skip
        self.previous = signed.signature if signed else ""
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha256 = hashlib.sha256() if len(mode) == 64 else None
        wanted = set(checks.checksums)
        if checks.trailer:
            wanted.add(_algorithm(checks.trailer))
        self.sums = {name: checksums.new(name) for name in wanted}
        self.size = 0
        # aws-chunked state
        self.buf = bytearray()
        self.left = -1  # bytes of the current chunk still to come; -1: a chunk header next
        self.chunk_sig = ""
        self.chunk_hash = hashlib.sha256()
        self.ended = False
        self.trailers: dict[str, str] = {}
        self.trailer_text = b""

    # -- data --------------------------------------------------------------------------------
    def _take(self, data: bytes | bytearray) -> bytes:
        out = bytes(data)
        self.md5.update(out)
        if self.sha256 is not None:
            self.sha256.update(out)
        for value in self.sums.values():
            value.update(out)
        self.size += len(out)
        return out

    def feed(self, data: bytes) -> bytes:
        if not self.chunked:
            return self._take(data)
        if self.ended:
            if self.trailers.get("") is None:
                self.buf += data
                self._read_trailer()
            return b""
        self.buf += data
        out = bytearray()
        while not self.ended:
            if self.left < 0:
                if not self._chunk_header():
                    break
                continue
            if self.left > 0:
                piece = self.buf[: self.left]
                if not piece:
                    break
                del self.buf[: len(piece)]
                self.left -= len(piece)
                self.chunk_hash.update(piece)
                out += piece
                continue
            if len(self.buf) < 2:
                break
            if self.buf[:2] != b"\r\n":
                raise S3Error("IncompleteBody", "An aws-chunked chunk does not end with CRLF")
            del self.buf[:2]
            self._end_chunk(False)
        if self.ended:
            self._read_trailer()
        return self._take(out)

    def _chunk_header(self) -> bool:
        end = self.buf.find(b"\r\n")
        if end < 0:
            if len(self.buf) > MAX_LINE:
                raise S3Error("IncompleteBody", "An aws-chunked chunk header is too long")
            return False
        line = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[: end + 2]
        size_text, _, ext = line.partition(";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            raise S3Error("IncompleteBody", "An aws-chunked chunk size is not hexadecimal") \
                from None  # fmt: skip
        self.chunk_sig = ext.partition("chunk-signature=")[2].strip()
        if self.signed_chunks and not self.chunk_sig:
            raise S3Error("SignatureDoesNotMatch", "A chunk has no signature")
        self.chunk_hash = hashlib.sha256()
        self.left = size
        if size == 0:
            self._end_chunk(True)
        return True

    def _end_chunk(self, last: bool) -> None:
        if self.signed_chunks and self.signed is not None:
            expected = signing.chunk_signature(
                self.key, self.signed, self.previous, self.chunk_hash.hexdigest()
            )
            if not hmac.compare_digest(expected, self.chunk_sig):
                raise S3Error("SignatureDoesNotMatch", "A chunk's signature does not match")
            self.previous = expected
        self.left = -1
        if last:
            self.ended = True

    def _read_trailer(self) -> None:
        """Lines ``name:value`` up to an empty line (right away without a trailer)."""
        while "" not in self.trailers:
            end = self.buf.find(b"\r\n")
            if end < 0:
                if len(self.buf) > MAX_LINE:
                    raise S3Error("IncompleteBody", "The aws-chunked trailer is too long")
                return
            line = bytes(self.buf[:end])
            del self.buf[: end + 2]
            if not line:
                self.trailers[""] = ""
                return
            name, _, value = line.decode("latin-1").partition(":")
            self.trailers[name.strip().lower()] = value.strip()
            if name.strip().lower() != "x-amz-trailer-signature":
                self.trailer_text += line + b"\n"

    # -- the end -----------------------------------------------------------------------------
    def finish(self) -> str:
        """Check everything promised; the body's md5 (hex)."""
        if self.chunked:
            if not self.ended or (self.trailers.get("") is None and self.checks.trailer):
                raise S3Error("IncompleteBody")
            self._check_trailer_signature()
        declared = self.checks.decoded_length
        if declared is not None and declared != self.size:
            raise S3Error("IncompleteBody")
        if self.sha256 is not None and self.sha256.hexdigest() != self.checks.payload_hash:
            raise S3Error("XAmzContentSHA256Mismatch",
                          ClientComputedContentSHA256=self.checks.payload_hash,
                          S3ComputedContentSHA256=self.sha256.hexdigest())  # fmt: skip
        if self.checks.content_md5 is not None:
            try:
                given = base64.b64decode(self.checks.content_md5, validate=True)
            except (binascii.Error, ValueError):
                raise S3Error("InvalidDigest") from None
            if len(given) != 16:
                raise S3Error("InvalidDigest")
            if given != self.md5.digest():
                raise S3Error("BadDigest")
        expected = dict(self.checks.checksums)
        if self.checks.trailer:
            value = self.trailers.get(self.checks.trailer.lower())
            if not value:
                raise S3Error("InvalidRequest", "The trailer checksum is missing")
            expected[_algorithm(self.checks.trailer)] = value
        for name, value in expected.items():
            if checksums.encode(self.sums[name]) != value:
                raise S3Error("BadDigest", f"The {name.upper()} you specified did not match "
                              "the calculated checksum.")  # fmt: skip
        return self.md5.hexdigest()

    def _check_trailer_signature(self) -> None:
        if self.checks.payload_hash != signing.STREAMING_TRAILER or self.signed is None:
            return
        given = self.trailers.get("x-amz-trailer-signature", "")
        expected = signing.trailer_signature(self.key, self.signed, self.previous,
                                             self.trailer_text)  # fmt: skip
        if not hmac.compare_digest(given, expected):
            raise S3Error("SignatureDoesNotMatch", "The trailer's signature does not match")
