"""Object storage benchmark: small-object PUT and GET rates, large-object throughput, a
container listing.

Works against any Swift v1 API on this machine (tinystack, or upstream Swift), with a
Keystone token, a TempAuth (v1) user or a storage URL and token given directly::

    OS_CLIENT_CONFIG_FILE=/tmp/ts/clouds.yaml python benchmarks/object_store.py \\
        --os-cloud tinystack-admin
    python benchmarks/object_store.py --auth-url http://127.0.0.1:5000/v3 --username admin \\
        --password ... --project-name admin
    python benchmarks/object_store.py --v1-auth-url http://127.0.0.1:21380/auth/v1.0 \\
        --v1-user test:tester --v1-key testing
    python benchmarks/object_store.py --storage-url http://127.0.0.1:8080/v1/AUTH_x \\
        --token ...

Phases (bounded in count and time; the containers it creates are emptied and deleted):

1. ``--small`` PUTs of 4 KiB objects at ``--concurrency`` (threads, one keep-alive
   connection each);
2. ``--small`` GETs of those objects at the same concurrency;
3. the container is filled up to ``--listing-entries`` objects (zero bytes, untimed),
   then ``--listing-runs`` GETs of its JSON listing (p50, p90);
4. ``--large-runs`` PUTs and GETs of one ``--large-mib`` object (MiB/s, the best run and
   the median).

With ``--cpu-pids`` (the stack's top processes, e.g. ``tinystack up``'s PID, or the PIDs
upstream_swift.sh records) the CPU time (utime + stime from ``/proc/<pid>/stat``) those
processes and all their descendants used during each phase is reported too, per request
(small objects) and per GiB (large objects): a figure that, unlike the rates, does not
depend much on what else the machine is running.

Only loopback endpoints (or, with ``--allow-host``, that host) are accepted.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).parent))

from _harness import add_auth_args, creds_from_args, issue_token, median, run

MiB = 1024 * 1024


def _loopback(url: str, allowed: str) -> None:
    host = urlsplit(url).hostname or ""
    if host == allowed:
        return
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
                self.conn.request(
                    method, self.base + quote(path, safe="/?=&"), body=body, headers=headers
                )
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                # the server closed an idle keep-alive connection: reconnect once
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def _v1_auth(url: str, user: str, key: str) -> tuple[str, str]:
    """TempAuth (and swauth) v1: GET the auth URL with X-Auth-User/-Key."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=30)
    conn.request("GET", parts.path, headers={"X-Auth-User": user, "X-Auth-Key": key})
    resp = conn.getresponse()
    resp.read()
    if resp.status >= 300:
        raise SystemExit(f"v1 auth answered {resp.status}")
    return str(resp.getheader("X-Storage-Url")), str(resp.getheader("X-Auth-Token"))


def _endpoint(args: argparse.Namespace) -> tuple[str, str]:
    if args.storage_url:
        if not args.token:
            raise SystemExit("--storage-url needs --token")
        return args.storage_url, args.token
    if args.v1_auth_url:
        return _v1_auth(args.v1_auth_url, args.v1_user, args.v1_key)
    token, body = issue_token(creds_from_args(args))
    return _storage_url(body["token"]["catalog"]), token


def _fill(url: str, token: str, container: str, start: int, end: int, threads: int) -> None:
    """Zero-byte objects o<start>..o<end-1>, untimed (the listing's entries)."""
    counter = iter(range(start, end))
    lock = threading.Lock()

    def work() -> None:
        client = Client(url, token)
        while True:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            status, _ = client.call("PUT", f"/{container}/o{index:07d}", b"")
            if status != 201:
                raise SystemExit(f"fill PUT answered {status}")

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def _empty(url: str, token: str, container: str, threads: int) -> None:
    """Delete every object (``threads`` at once), then the container."""
    admin = Client(url, token)
    while True:
        status, names = admin.call("GET", f"/{container}?format=plain")
        listed = [n for n in names.decode().split("\n") if n] if status == 200 else []
        if not listed:
            break
        lock = threading.Lock()

        def work(listed: list[str] = listed, lock: threading.Lock = lock) -> None:
            client = Client(url, token)
            while True:
                with lock:
                    if not listed:
                        return
                    name = listed.pop()
                client.call("DELETE", f"/{container}/{name}")

        workers = [threading.Thread(target=work) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    admin.call("DELETE", f"/{container}")


def _cpu_seconds(roots: list[int]) -> float:
    """utime + stime of ``roots`` and all their descendants now (live processes)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(name)] = int(fields[1])
        ticks[int(name)] = int(fields[11]) + int(fields[12])
    wanted = set(roots)
    grew = True
    while grew:
        found = {pid for pid, ppid in parents.items() if ppid in wanted} - wanted
        grew = bool(found)
        wanted |= found
    return sum(ticks.get(pid, 0) for pid in wanted) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds the stack's processes spent per phase (none without ``--cpu-pids``)."""

    def __init__(self, roots: list[int]) -> None:
        self.roots = roots
        self.spent: dict[str, float] = {}
        self._start = 0.0

    def begin(self) -> None:
        self._start = _cpu_seconds(self.roots) if self.roots else 0.0

    def end(self, phase: str) -> None:
        if self.roots:
            spent = _cpu_seconds(self.roots) - self._start
            self.spent[phase] = self.spent.get(phase, 0.0) + spent


def _pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(q * len(data)))] if data else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--v1-auth-url", help="TempAuth v1 URL (.../auth/v1.0)")
    parser.add_argument("--v1-user", default="test:tester")
    parser.add_argument("--v1-key", default="testing")
    parser.add_argument("--storage-url", help="the account URL (with --token)")
    parser.add_argument("--token")
    parser.add_argument("--allow-host", default="", help="a non-loopback host to accept")
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--large-mib", type=int, default=256)
    parser.add_argument("--large-runs", type=int, default=3)
    parser.add_argument("--listing-entries", type=int, default=10000)
    parser.add_argument("--listing-runs", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--keep", action="store_true", help="leave the containers in place")
    parser.add_argument(
        "--cpu-pids", default="", help="comma-separated PIDs whose process trees' CPU to report"
    )
    args = parser.parse_args()
    cpu = CpuMeter([int(p) for p in args.cpu_pids.split(",") if p])
    url, token = _endpoint(args)
    _loopback(url, args.allow_host)
    run_id = uuid.uuid4().hex[:8]
    container, large_container = f"bench-{run_id}", f"bench-{run_id}-large"
    admin = Client(url, token)
    for name in (container, large_container):
        status, _ = admin.call("PUT", f"/{name}")
        if status not in (201, 202):
            raise SystemExit(f"container PUT answered {status}")
    payload = os.urandom(4096)
    counter = iter(range(10**9))
    lock = threading.Lock()
    results = []

    def putter() -> Any:
        client = Client(url, token)

        def put() -> int:
            with lock:
                index = next(counter)
            return client.call("PUT", f"/{container}/o{index:07d}", payload)[0]

        return put

    cpu.begin()
    results.append(run("PUT 4 KiB", args.concurrency, putter, args.small, args.max_seconds,
                       ok=(201,)))  # fmt: skip
    cpu.end("small_put")
    written = next(counter)
    reads = iter(range(10**9))

    def getter() -> Any:
        client = Client(url, token)

        def get() -> int:
            with lock:
                index = next(reads) % written
            return client.call("GET", f"/{container}/o{index:07d}")[0]

        return get

    cpu.begin()
    results.append(run("GET 4 KiB", args.concurrency, getter, args.small, args.max_seconds))
    cpu.end("small_get")
    _fill(url, token, container, written, args.listing_entries, args.concurrency)
    listing = []
    entries = 0
    admin = Client(url, token)  # the first one idled through the fill
    for _ in range(args.listing_runs):
        start = time.perf_counter()
        status, body = admin.call("GET", f"/{container}?format=json")
        listing.append((time.perf_counter() - start) * 1000)
        if status != 200:
            raise SystemExit(f"listing answered {status}: {body[:200]!r}")
        entries = len(json.loads(body))
    big = os.urandom(args.large_mib * MiB)
    puts, gets = [], []
    for _ in range(args.large_runs):
        cpu.begin()
        start = time.perf_counter()
        status, _ = admin.call("PUT", f"/{large_container}/large", big)
        assert status == 201, f"large PUT answered {status}"
        puts.append(args.large_mib / (time.perf_counter() - start))
        cpu.end("large_put")
        cpu.begin()
        start = time.perf_counter()
        status, data = admin.call("GET", f"/{large_container}/large")
        gets.append(args.large_mib / (time.perf_counter() - start))
        cpu.end("large_get")
        assert data == big, "large object came back different"
    for result in results:
        print(result.line())
    per_request = {
        phase: cpu.spent[phase] * 1000 / max(1, result.count)
        for phase, result in zip(("small_put", "small_get"), results, strict=True)
        if phase in cpu.spent
    }
    gib = args.large_mib * max(1, args.large_runs) / 1024
    per_gib = {p: cpu.spent[p] / gib for p in ("large_put", "large_get") if p in cpu.spent}
    if cpu.roots:
        print("CPU of the stack: " + ", ".join(
            [f"{p} {v:.2f} ms/request" for p, v in per_request.items()]
            + [f"{p} {v:.2f} s/GiB" for p, v in per_gib.items()]))  # fmt: skip
    if puts:
        print(f"large object {args.large_mib} MiB x{args.large_runs}: PUT best "
              f"{max(puts):.1f} median {median(puts):.1f} MiB/s, GET best {max(gets):.1f} "
              f"median {median(gets):.1f} MiB/s")  # fmt: skip
    print(f"listing of {entries} entries: p50 {median(listing):.1f} ms, "
          f"p90 {_pct(listing, 0.9):.1f} ms")  # fmt: skip
    if not args.keep:
        _empty(url, token, large_container, args.concurrency)
        _empty(url, token, container, args.concurrency)
    print(json.dumps({"results": [r.as_dict() for r in results], "large_put_mibs": puts,
                      "large_get_mibs": gets, "listing_entries": entries,
                      "listing_p50_ms": median(listing), "cpu_ms_per_request": per_request,
                      "cpu_s_per_gib": per_gib}))  # fmt: skip


if __name__ == "__main__":
    main()
