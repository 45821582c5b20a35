"""Streaming through a real uvicorn server: 1 GiB in and out with flat memory, disconnects.

The server runs in a child process so its RSS can be read from /proc. Its peak
RSS (VmHWM, reset after warming up) must stay within 64 MiB of its idle RSS
while a 1 GiB image goes up and comes back down.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.image import imagefiles

GiB = 1024 * 1024 * 1024
MiB = 1024 * 1024
BLOCK = imagefiles.random_bytes(MiB)


class Server:
    def __init__(self, proc: subprocess.Popen[bytes], info: dict[str, Any], state: Path) -> None:
        self.proc = proc
        self.port: int = info["port"]
        self.token: str = info["token"]
        self.state = state

    def conn(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        conn = self.conn()
        hdrs = {"X-Auth-Token": self.token, **headers}
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        conn.close()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, raw

    def create(self, **body: Any) -> str:
        status, image = self.call(
            "POST", "/v2/images", {"disk_format": "raw", "container_format": "bare", **body}
        )
        assert status == 201, image
        return str(image["id"])

    def rss(self, field: str = "VmRSS") -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise AssertionError(f"no {field}")

    def reset_peak(self) -> None:
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    state = tmp_path_factory.mktemp("image-server")
    info_file = state / "info.json"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.image.serve", str(state / "state"), str(info_file)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    deadline = time.monotonic() + 30
    while not info_file.exists():
        assert proc.poll() is None, "the image server died"
        assert time.monotonic() < deadline, "the image server did not start"
        time.sleep(0.05)
    try:
        yield Server(proc, json.loads(info_file.read_text()), state / "state")
    finally:
        proc.terminate()
        proc.wait(10)


def _body(size: int) -> Iterator[bytes]:
    for _ in range(size // MiB):
        yield BLOCK


def _upload(server: Server, image_id: str, size: int) -> int:
    conn = server.conn()
    conn.request(
        "PUT",
        f"/v2/images/{image_id}/file",
        body=_body(size),
        headers={
            "X-Auth-Token": server.token,
            "Content-Type": "application/octet-stream",
            "Content-Length": str(size),
        },
    )
    status = conn.getresponse().status
    conn.close()
    return status


def _download_md5(server: Server, image_id: str) -> tuple[int, str, int]:
    conn = server.conn()
    conn.request("GET", f"/v2/images/{image_id}/file", headers={"X-Auth-Token": server.token})
    resp = conn.getresponse()
    md5 = hashlib.md5(usedforsecurity=False)
    total = 0
    while chunk := resp.read(MiB):
        md5.update(chunk)
        total += len(chunk)
    conn.close()
    return resp.status, md5.hexdigest(), total


def test_one_gib_round_trip_keeps_memory_flat(server: Server) -> None:
    # warm up every code path first, so imports and caches do not count as growth
    warm = server.create(name="warm-up")
    assert _upload(server, warm, 8 * MiB) == 204
    assert _download_md5(server, warm)[0] == 200
    time.sleep(0.5)
    idle = server.rss()
    server.reset_peak()

    image_id = server.create(name="one-gib")
    assert _upload(server, image_id, GiB) == 204
    status, image = server.call("GET", f"/v2/images/{image_id}")
    assert image["status"] == "active" and image["size"] == GiB
    status, digest, total = _download_md5(server, image_id)
    assert (status, total) == (200, GiB)
    expected = hashlib.md5(usedforsecurity=False)
    for block in _body(GiB):
        expected.update(block)
    assert digest == image["checksum"] == expected.hexdigest()

    growth = server.rss("VmHWM") - idle
    print(f"idle RSS {idle / MiB:.1f} MiB, peak growth {growth / MiB:.1f} MiB")
    assert growth < 64 * MiB, f"peak RSS grew by {growth / MiB:.1f} MiB"
    server.call("DELETE", f"/v2/images/{image_id}")


def test_client_disconnect_leaves_a_queued_image_and_no_file(server: Server) -> None:
    image_id = server.create(name="dropped")
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = (
        f"PUT /v2/images/{image_id}/file HTTP/1.1\r\nHost: x\r\n"
        f"X-Auth-Token: {server.token}\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {64 * MiB}\r\n\r\n"
    )
    sock.sendall(head.encode())
    for _ in range(8):
        sock.sendall(BLOCK)
    deadline = time.monotonic() + 10
    while server.call("GET", f"/v2/images/{image_id}")[1]["status"] != "saving":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    sock.close()
    while server.call("GET", f"/v2/images/{image_id}")[1]["status"] != "queued":
        assert time.monotonic() < deadline, "the image did not go back to queued"
        time.sleep(0.02)
    leftovers = [p.name for p in (server.state / "images").glob(f"{image_id}*")]
    assert leftovers == []
    assert _upload(server, image_id, 2 * MiB) == 204
