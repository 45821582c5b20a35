"""Image benchmark: 1 GiB upload and download throughput (against ``cp``), list of 1,000 images.

    python benchmarks/image.py --os-cloud tinystack-admin               # uses OS_CLIENT_CONFIG_FILE
    python benchmarks/image.py --auth-url http://127.0.0.1:5000/v3 --username admin \
        --password ... --project-name admin                              # any Glance

Throughput: a file of ``--size-mib`` MiB is written to ``--workdir`` (put it on the disk of the
image store), uploaded with ``PUT /v2/images/{id}/file`` and downloaded to a file in the same
directory, ``--repeat`` times each; the best run is compared with a plain ``cp`` of the same file
in the same directory. List: ``--images`` images are created, ``GET /v2/images?limit=N`` is timed
``--list-requests`` times (and the default page too), then every image is deleted. Only loopback
endpoints are accepted; every loop is bounded.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).parent))

from _harness import add_auth_args, creds_from_args, issue_token, median

MiB = 1024 * 1024


def image_endpoint(catalog_body: dict[str, Any], override: str | None) -> str:
    if override:
        return override.rstrip("/")
    for entry in catalog_body["token"].get("catalog", []):
        if entry["type"] == "image":
            for ep in entry["endpoints"]:
                if ep["interface"] == "public":
                    return str(ep["url"]).rstrip("/")
    raise SystemExit("no image endpoint in the catalog; give --image-url")


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"refusing to benchmark a non-loopback endpoint: {url}")


class Glance:
    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.token = token
        self.conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=600)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"X-Auth-Token": self.token}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.conn.request(method, self.prefix + path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None)

    def create(self, name: str, tag: str) -> str:
        body = {"name": name, "disk_format": "raw", "container_format": "bare", "tags": [tag]}
        status, image = self.call("POST", "/v2/images", body)
        if status != 201:
            raise SystemExit(f"image create failed: {status} {image}")
        return str(image["id"])

    def delete(self, image_id: str) -> None:
        self.call("DELETE", f"/v2/images/{image_id}")

    def upload(self, image_id: str, path: Path) -> float:
        size = path.stat().st_size
        conn = self._connect()
        started = time.perf_counter()
        with open(path, "rb") as src:

            def body() -> Iterator[bytes]:
                while chunk := src.read(MiB):
                    yield chunk

            conn.request(
                "PUT",
                f"{self.prefix}/v2/images/{image_id}/file",
                body=body(),
                headers={
                    "X-Auth-Token": self.token,
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(size),
                },
            )
            resp = conn.getresponse()
            resp.read()
        elapsed = time.perf_counter() - started
        conn.close()
        if resp.status != 204:
            raise SystemExit(f"upload failed: {resp.status}")
        return elapsed

    def download(self, image_id: str, target: Path | None) -> float:
        """Time a download to ``target`` (None: read and discard)."""
        conn = self._connect()
        started = time.perf_counter()
        conn.request(
            "GET", f"{self.prefix}/v2/images/{image_id}/file", headers={"X-Auth-Token": self.token}
        )
        resp = conn.getresponse()
        if resp.status != 200:
            raise SystemExit(f"download failed: {resp.status}")
        buffer = bytearray(MiB)
        view = memoryview(buffer)
        with open(target or os.devnull, "wb", buffering=0) as out:
            while count := resp.readinto(buffer):
                if target is not None:
                    out.write(view[:count])
        elapsed = time.perf_counter() - started
        conn.close()
        return elapsed


def make_file(path: Path, size_mib: int) -> None:
    block = os.urandom(MiB)
    with open(path, "wb") as out:
        for _ in range(size_mib):
            out.write(block)


def timed_cp(source: Path, target: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["cp", str(source), str(target)], check=True)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def timed_dd(source: Path, target: Path) -> float:
    """A copy through user space (read + write of 1 MiB blocks), as any transfer must do."""
    started = time.perf_counter()
    command = ["dd", f"if={source}", f"of={target}", "bs=1M", "status=none"]
    subprocess.run(command, check=True)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def timed_hash(source: Path) -> float:
    started = time.perf_counter()
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha512()
    with open(source, "rb") as src:
        while chunk := src.read(4 * MiB):
            md5.update(chunk)
            sha.update(chunk)
    return time.perf_counter() - started


def throughput(glance: Glance, workdir: Path, size_mib: int, repeat: int) -> dict[str, float]:
    source = workdir / "bench-source.img"
    target = workdir / "bench-download.img"
    make_file(source, size_mib)
    cp_runs, dd_runs, up_runs, down_runs, hash_runs, null_runs = [], [], [], [], [], []
    tag = "bench-" + uuid.uuid4().hex[:8]
    try:
        for i in range(repeat):
            cp_runs.append(timed_cp(source, target))
            dd_runs.append(timed_dd(source, target))
            hash_runs.append(timed_hash(source))
            image_id = glance.create(f"{tag}-{i}", tag)
            try:
                up_runs.append(glance.upload(image_id, source))
                down_runs.append(glance.download(image_id, target))
                target.unlink()
                null_runs.append(glance.download(image_id, None))
            finally:
                glance.delete(image_id)
    finally:
        source.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
    mib = float(size_mib)
    return {
        "cp_mib_s": mib / min(cp_runs),
        "dd_mib_s": mib / min(dd_runs),
        "md5_sha512_mib_s": mib / min(hash_runs),
        "upload_mib_s": mib / min(up_runs),
        "download_mib_s": mib / min(down_runs),
        "download_discarded_mib_s": mib / min(null_runs),
    }


def listing(glance: Glance, count: int, requests: int) -> dict[str, float]:
    tag = "bench-" + uuid.uuid4().hex[:8]
    ids: list[str] = []
    try:
        for i in range(count):
            ids.append(glance.create(f"{tag}-{i:04d}", tag))
        results: dict[str, float] = {}
        for name, path in (
            (f"list_{count}_p50_ms", f"/v2/images?limit={count}"),
            ("list_default_page_p50_ms", "/v2/images"),
        ):
            latencies = []
            for _ in range(requests):
                started = time.perf_counter()
                status, body = glance.call("GET", path)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    raise SystemExit(f"list failed: {status}")
            results[name] = median(latencies) * 1000
            results[name.replace("_p50_ms", "_returned")] = float(len(body["images"]))
        return results
    finally:
        for image_id in ids:
            glance.delete(image_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_auth_args(parser)
    parser.add_argument("--image-url", help="image endpoint (default: from the catalog)")
    parser.add_argument("--workdir", default=None, help="directory for the test files")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--list-requests", type=int, default=50)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-list", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    creds = creds_from_args(args)
    token, body = issue_token(creds)
    url = image_endpoint(body, args.image_url)
    require_loopback(url)
    glance = Glance(url, token)
    results: dict[str, float] = {}
    if not args.skip_throughput:
        workdir = Path(args.workdir or tempfile.gettempdir())
        free = shutil.disk_usage(workdir).free
        if free < 3 * args.size_mib * MiB:
            raise SystemExit(f"not enough space in {workdir} for {args.size_mib} MiB x 3")
        results.update(throughput(glance, workdir, args.size_mib, args.repeat))
        print(f"image data ({args.size_mib} MiB, best of {args.repeat}):")
        print(f"  cp on the same disk        {results['cp_mib_s']:8.0f} MiB/s")
        print(f"  dd bs=1M, same disk        {results['dd_mib_s']:8.0f} MiB/s")
        print(f"  md5+sha512 in one thread   {results['md5_sha512_mib_s']:8.0f} MiB/s")
        for key in ("upload", "download"):
            rate = results[f"{key}_mib_s"]
            share = 100 * rate / results["cp_mib_s"]
            print(f"  {key:<26} {rate:8.0f} MiB/s  ({share:.0f}% of cp)")
        rate = results["download_discarded_mib_s"]
        print(f"  download, data discarded   {rate:8.0f} MiB/s  (the server alone)")
    if not args.skip_list:
        results.update(listing(glance, args.images, args.list_requests))
        print(f"image list ({args.images} images created, {args.list_requests} requests):")
        print(f"  GET /v2/images?limit={args.images}   p50 "
              f"{results[f'list_{args.images}_p50_ms']:7.2f} ms "
              f"({results[f'list_{args.images}_returned']:.0f} images per page)")  # fmt: skip
        print(f"  GET /v2/images (default page) p50 {results['list_default_page_p50_ms']:7.2f} ms")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
