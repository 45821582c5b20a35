"""Soak: mixed API load at a steady rate for a long time; resources and latency must stay
flat after warm-up.

    python benchmarks/soak.py --os-cloud tinystack-admin --duration 3600 --rate 20 \\
        --pid $(cat ~/.local/share/tinystack/tinystack.pid)

Every ``1/rate`` seconds one operation is started (on a small thread pool, so a slow
answer does not lower the rate): reads of every service in the catalog (servers,
flavors, networks, ports, images, volumes, resource providers, a token validation) and
create-then-delete pairs (a network, a port, an image record, a volume type), so nothing
accumulates and growth is the cloud's own. With ``--pid`` (the cloud's processes on
this machine) it samples, every ``--sample-every`` seconds, RSS, open file descriptors,
threads, database files held open (SQLite) and TCP connections to ``--db-port``
(MariaDB/PostgreSQL). It prints the RSS slope after ``--warmup`` (least squares, KiB per
minute), the growth of the other figures (the lowest sample of the last third less the
lowest of the first: requests in flight come and go, a leak raises the floor), and
p50/p99 latency of the first and last third; ``--json`` writes the same as JSON. Only
loopback URLs are loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _harness import Client, add_auth_args, creds_from_args, issue_token

#: seconds between token renewals (Keystone's default token lifetime is an hour)
TOKEN_RENEWAL = 1800.0
#: the operations and their weights; each returns the HTTP status of its last request
READS = {
    "compute": ["/servers", "/flavors/detail", "/os-availability-zone"],
    "network": ["/v2.0/networks", "/v2.0/ports", "/v2.0/security-groups"],
    "image": ["/v2/images"],
    "block-storage": ["/volumes/detail", "/types"],
    "placement": ["/resource_providers"],
    "identity": ["/projects", "/users"],
}


@dataclass
class Soak:
    urls: dict[str, str]
    token: str
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (t, seconds)
    statuses: dict[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    local: threading.local = field(default_factory=threading.local)
    started: float = field(default_factory=time.monotonic)

    def _request(self, service: str, method: str, path: str, body: Any = None) -> Any:
        clients = self.local.__dict__.setdefault("clients", {})
        if service not in clients:
            clients[service] = Client(self.urls[service])
        headers = {"X-Auth-Token": self.token}
        if service == "compute":
            headers["OpenStack-API-Version"] = "compute 2.79"
        if service == "identity" and path.startswith("/auth/"):
            headers["X-Subject-Token"] = self.token
        start = time.perf_counter()
        try:
            status, _, payload = clients[service].request(method, path, headers, body)
        except OSError:
            clients.pop(service).conn.close()
            status, payload = 599, b""
        elapsed = time.perf_counter() - start
        with self.lock:
            self.latencies.append((time.monotonic() - self.started, elapsed))
            self.statuses[status] = self.statuses.get(status, 0) + 1
        return status, (json.loads(payload) if payload and status < 300 else None)

    def operations(self) -> list[Any]:
        ops: list[Any] = []
        for service, paths in READS.items():
            if service in self.urls:
                ops += [lambda s=service, p=path: self._request(s, "GET", p) for path in paths]
        if "identity" in self.urls:
            ops.append(lambda: self._request("identity", "GET", "/auth/tokens"))
        if "network" in self.urls:
            ops += [self._network_pair, self._port_pair]
        if "image" in self.urls:
            ops.append(self._image_pair)
        return ops

    def _network_pair(self) -> None:
        name = f"soak-{uuid.uuid4().hex[:8]}"
        status, body = self._request("network", "POST", "/v2.0/networks",
                                     {"network": {"name": name}})  # fmt: skip
        if body:
            self._request("network", "DELETE", f"/v2.0/networks/{body['network']['id']}")

    def _port_pair(self) -> None:
        status, body = self._request("network", "GET", "/v2.0/networks?name=soak-net")
        nets = (body or {}).get("networks") or []
        if not nets:
            return
        status, made = self._request("network", "POST", "/v2.0/ports",
                                     {"port": {"network_id": nets[0]["id"]}})  # fmt: skip
        if made:
            self._request("network", "DELETE", f"/v2.0/ports/{made['port']['id']}")

    def _image_pair(self) -> None:
        body = {"name": "soak", "disk_format": "raw", "container_format": "bare"}
        status, made = self._request("image", "POST", "/v2/images", body)
        if made:
            self._request("image", "DELETE", f"/v2/images/{made['id']}")


def sample(pids: list[int], db_port: int | None) -> dict[str, float]:
    """RSS (KiB), fds, threads, SQLite files held open and TCP connections to db_port,
    summed over ``pids``."""
    found = {"rss_kib": 0.0, "fds": 0.0, "threads": 0.0, "db_files": 0.0, "db_sockets": 0.0}
    for pid in pids:
        proc = Path(f"/proc/{pid}")
        try:
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    found["rss_kib"] += float(line.split()[1])
                elif line.startswith("Threads:"):
                    found["threads"] += float(line.split()[1])
            links = []
            for fd in (proc / "fd").iterdir():
                try:
                    links.append(os.readlink(fd))
                except OSError:
                    continue
        except OSError:
            continue
        found["fds"] += len(links)
        found["db_files"] += sum(1 for link in links if link.endswith(".sqlite"))
        if db_port:
            inodes = {link[8:-1] for link in links if link.startswith("socket:[")}
            found["db_sockets"] += _sockets_to(proc, inodes, db_port)
    return found


def _sockets_to(proc: Path, inodes: set[str], port: int) -> int:
    count = 0
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[9] in inodes:
                count += 1
    return count


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per minute."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 60 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def _pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return round(data[min(len(data) - 1, int(q * len(data)))] * 1000, 2) if data else 0.0


def summarize(soak: Soak, samples: list[tuple[float, dict[str, float]]], warmup: float,
              duration: float) -> dict[str, Any]:  # fmt: skip
    steady = [(t, s) for t, s in samples if t >= warmup]
    result: dict[str, Any] = {
        "requests": sum(soak.statuses.values()),
        "statuses": {str(k): v for k, v in sorted(soak.statuses.items())},
        "5xx": sum(v for k, v in soak.statuses.items() if k >= 500),
    }
    third = (duration - warmup) / 3
    for name, lo, hi in (("first", warmup, warmup + third), ("last", duration - third, duration)):
        window = [d for t, d in soak.latencies if lo <= t <= hi]
        result[f"p50_ms_{name}_third"], result[f"p99_ms_{name}_third"] = (
            _pct(window, 0.5), _pct(window, 0.99))  # fmt: skip
    if len(steady) >= 2:
        result["rss_slope_kib_per_min"] = round(
            slope_per_minute([(t, s["rss_kib"]) for t, s in steady]), 1
        )
        first, last = steady[0][1], steady[-1][1]
        result["rss_kib_start"], result["rss_kib_end"] = first["rss_kib"], last["rss_kib"]
        early = [s for t, s in steady if t <= warmup + third] or [first]
        late = [s for t, s in steady if t >= duration - third] or [last]
        for key in ("fds", "threads", "db_files", "db_sockets"):
            # a leak raises the floor; one sample can catch requests in flight (their
            # sockets, threads and database files) at either end of the window
            result[f"{key}_growth"] = min(s[key] for s in late) - min(s[key] for s in early)
            result[f"{key}_max"] = max(s[key] for _, s in steady)
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_auth_args(parser)
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds of load")
    parser.add_argument("--rate", type=float, default=20.0, help="operations per second")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="requests in flight at most (a slow cloud queues the rest)",
    )
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds before the steady state (default: a fifth)")  # fmt: skip
    parser.add_argument("--pid", type=int, action="append", default=[],
                        help="a cloud process to sample (repeat for several)")  # fmt: skip
    parser.add_argument("--db-port", type=int, default=None)
    parser.add_argument("--sample-every", type=float, default=2.0)
    parser.add_argument("--json", default=None, help="write the summary here")
    args = parser.parse_args(argv)
    creds = creds_from_args(args)
    token, body = issue_token(creds)
    urls = {e["type"]: ep["url"] for e in body["token"]["catalog"] for ep in e["endpoints"]
            if ep["interface"] == "public"}  # fmt: skip
    for url in urls.values():
        if urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"refusing to load a non-loopback endpoint: {url}")
    soak = Soak(urls, token)
    if "network" in urls:
        soak._request("network", "POST", "/v2.0/networks", {"network": {"name": "soak-net"}})
    ops = soak.operations()
    warmup = args.warmup if args.warmup is not None else args.duration / 5
    samples: list[tuple[float, dict[str, float]]] = []
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            samples.append((time.monotonic() - soak.started, sample(args.pid, args.db_port)))
            stop.wait(args.sample_every)

    threading.Thread(target=sampler, daemon=True).start()
    renewed = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        n = 0
        while (now := time.monotonic() - soak.started) < args.duration:
            if time.monotonic() - renewed > TOKEN_RENEWAL:  # tokens live an hour upstream
                soak.token, renewed = issue_token(creds)[0], time.monotonic()
            pool.submit(ops[n % len(ops)])
            n += 1
            time.sleep(max(0.0, n / args.rate - now))
    stop.set()
    status, nets = soak._request("network", "GET", "/v2.0/networks?name=soak-net")
    for net in (nets or {}).get("networks", []):
        soak._request("network", "DELETE", f"/v2.0/networks/{net['id']}")
    result = summarize(soak, samples, warmup, args.duration)
    for key, value in result.items():
        print(f"{key:<32} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
