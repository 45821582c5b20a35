"""Answers one HTTP GET on stdin/stdout from a directory: QEMU's ``guestfwd=...-cmd:`` runs
it for every connection the guest opens to the forwarded address (a metadata service
that lives inside the QEMU process's user-mode network)."""

from __future__ import annotations

import sys
from pathlib import Path


def main() -> None:
    root = Path(sys.argv[1]).resolve()
    request = sys.stdin.buffer.readline().decode(errors="replace").split()
    while sys.stdin.buffer.readline() not in (b"\r\n", b"\n", b""):
        pass
    target = (root / request[1].lstrip("/")).resolve() if len(request) > 1 else root
    out = sys.stdout.buffer
    if target.is_file() and root in target.parents:
        body = target.read_bytes()
        out.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    else:
        out.write(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    out.flush()


if __name__ == "__main__":
    main()
