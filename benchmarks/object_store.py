"""Object storage benchmark: small-object PUT and GET rates, large-object throughput, a
container listing.

Works against any Swift v1 API on this machine (tinystack, or upstream Swift with
keystoneauth)::

    OS_CLIENT_CONFIG_FILE=/tmp/ts/clouds.yaml python benchmarks/object_store.py \\
        --os-cloud tinystack-admin
    python benchmarks/object_store.py --auth-url http://127.0.0.1:5000/v3 --username admin \\
        --password ... --project-name admin

Phases (bounded in count and time; the container it creates is emptied and deleted):

1. ``--small`` PUTs of 4 KiB objects at ``--concurrency`` (threads, one connection each);
2. GETs of those objects at the same concurrency;
3. one ``--large-mib`` object PUT and GET (throughput in MiB/s);
4. ``--listing-runs`` GETs of the container's JSON listing (p50).

Only loopback endpoints are accepted.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import socket
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).parent))

from _harness import add_auth_args, creds_from_args, issue_token, median, run

MiB = 1024 * 1024


def _loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"refusing to benchmark a non-loopback endpoint: {url}")


def _storage_url(catalog: list[dict[str, Any]]) -> str:
    for entry in catalog:
        if entry["type"] == "object-store":
            for ep in entry["endpoints"]:
                if ep["interface"] == "public":
                    return str(ep["url"])
    raise SystemExit("no object-store endpoint in the catalog")


class Client:
    """One keep-alive connection to the proxy."""

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=60)
        self.base = parts.path
        self.token = token

    def call(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"X-Auth-Token": self.token}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):
            try:
                self.conn.request(method, self.base + quote(path), body=body, headers=headers)
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                # the server closed an idle keep-alive connection: reconnect once
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--small", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--large-mib", type=int, default=64)
    parser.add_argument("--listing-runs", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=60)
    args = parser.parse_args()
    token, body = issue_token(creds_from_args(args))
    url = _storage_url(body["token"]["catalog"])
    _loopback(url)
    container = f"bench-{uuid.uuid4().hex[:8]}"
    admin = Client(url, token)
    status, _ = admin.call("PUT", f"/{container}")
    if status not in (201, 202):
        raise SystemExit(f"container PUT answered {status}")
    payload = os.urandom(4096)
    counter = iter(range(10**9))
    results = []

    def putter() -> Any:
        client = Client(url, token)
        return lambda: client.call("PUT", f"/{container}/o{next(counter):07d}", payload)[0]

    results.append(run("PUT 4 KiB", args.concurrency, putter, args.small, args.max_seconds,
                       ok=(201,)))  # fmt: skip
    written = next(counter)
    reads = iter(range(10**9))

    def getter() -> Any:
        client = Client(url, token)
        return lambda: client.call("GET", f"/{container}/o{next(reads) % written:07d}")[0]

    results.append(run("GET 4 KiB", args.concurrency, getter, args.small, args.max_seconds))
    big = os.urandom(args.large_mib * MiB)
    start = time.perf_counter()
    status, _ = admin.call("PUT", f"/{container}/large", big)
    put_rate = args.large_mib / (time.perf_counter() - start)
    start = time.perf_counter()
    status, data = admin.call("GET", f"/{container}/large")
    get_rate = args.large_mib / (time.perf_counter() - start)
    assert data == big, "large object came back different"
    listing = []
    for _ in range(args.listing_runs):
        start = time.perf_counter()
        status, _ = admin.call("GET", f"/{container}?format=json")
        listing.append((time.perf_counter() - start) * 1000)
    for result in results:
        print(result.line())
    print(f"large object {args.large_mib} MiB: PUT {put_rate:.1f} MiB/s, GET {get_rate:.1f} MiB/s")
    print(f"listing of {written + 1} objects: p50 {median(listing):.1f} ms")
    status, names = admin.call("GET", f"/{container}?format=plain")
    for name in names.decode().split():
        admin.call("DELETE", f"/{container}/{name}")
    admin.call("DELETE", f"/{container}")
    print(json.dumps({"results": [r.as_dict() for r in results], "large_put_mibs": put_rate,
                      "large_get_mibs": get_rate, "listing_p50_ms": median(listing)}))  # fmt: skip


if __name__ == "__main__":
    main()
