"""Shared benchmark plumbing: credentials from clouds.yaml or flags, a token, a threaded load loop.

Every benchmark takes a cloud's URL and credentials, so the same script runs against tinystack
and against upstream OpenStack. Load loops are bounded in request count and in time, and only
ever target the URL given (loopback in our runs).
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import os
import socket
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import yaml


@dataclass
class Creds:
    auth_url: str
    username: str
    password: str
    project_name: str
    user_domain: str = "Default"
    project_domain: str = "Default"


def add_auth_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--os-cloud", default=os.environ.get("OS_CLOUD"))
    parser.add_argument("--auth-url", default=os.environ.get("OS_AUTH_URL"))
    parser.add_argument("--username", default=os.environ.get("OS_USERNAME"))
    parser.add_argument("--password", default=os.environ.get("OS_PASSWORD"))
    parser.add_argument("--project-name", default=os.environ.get("OS_PROJECT_NAME", "admin"))


def creds_from_args(args: argparse.Namespace) -> Creds:
    if args.os_cloud:
        path = os.environ.get("OS_CLIENT_CONFIG_FILE", "clouds.yaml")
        auth = yaml.safe_load(open(path))["clouds"][args.os_cloud]["auth"]
        return Creds(
            auth["auth_url"],
            auth["username"],
            auth["password"],
            auth["project_name"],
            auth.get("user_domain_name", "Default"),
            auth.get("project_domain_name", "Default"),
        )
    if not (args.auth_url and args.username and args.password):
        raise SystemExit("give --os-cloud, or --auth-url --username --password")
    return Creds(args.auth_url, args.username, args.password, args.project_name)


def auth_body(c: Creds) -> dict[str, Any]:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": c.username,
                        "domain": {"name": c.user_domain},
                        "password": c.password,
                    }
                },
            },
            "scope": {"project": {"name": c.project_name, "domain": {"name": c.project_domain}}},
        }
    }


#: servers close a keep-alive connection idle this long (uvicorn's default is 5 s)
IDLE_RECONNECT_SECONDS = 4.0


class Client:
    """A keep-alive HTTP connection (one per load thread).

    A connection left idle longer than servers keep it open is closed and opened again
    before the next request, instead of failing with RemoteDisconnected (a benchmark's
    connection can sit idle through a long clean-up phase).
    """

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.prefix = parts.path.rstrip("/")
        self.conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port or 80, timeout=60
        )
        self.last_used = time.monotonic()

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: Any = None
    ) -> tuple[int, dict[str, str], bytes]:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if time.monotonic() - self.last_used > IDLE_RECONNECT_SECONDS:
            self.conn.close()
        self.conn.request(method, self.prefix + path, body=data, headers=hdrs)
        resp = self.conn.getresponse()
        payload = resp.read()
        self.last_used = time.monotonic()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload


def issue_token(c: Creds) -> tuple[str, dict[str, Any]]:
    status, headers, body = Client(c.auth_url).request("POST", "/auth/tokens", body=auth_body(c))
    if status != 201:
        raise SystemExit(f"token issue failed: {status} {body[:300]!r}")
    return headers["x-subject-token"], json.loads(body)


@dataclass
class Result:
    name: str
    concurrency: int
    count: int
    errors: int
    server_errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        data = sorted(self.latencies)
        return data[min(len(data) - 1, int(q * len(data)))] * 1000

    def line(self) -> str:
        return (
            f"{self.name:<34} c={self.concurrency:<3} {self.rate:9.1f}/s  "
            f"p50 {self.pct(0.5):8.2f} ms  p99 {self.pct(0.99):8.2f} ms  "
            f"n={self.count} errors={self.errors} 5xx={self.server_errors}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "concurrency": self.concurrency,
            "rate": round(self.rate, 2),
            "p50_ms": round(self.pct(0.5), 2),
            "p99_ms": round(self.pct(0.99), 2),
            "count": self.count,
            "errors": self.errors,
            "5xx": self.server_errors,
        }


def run(
    name: str,
    concurrency: int,
    make_call: Callable[[], Callable[[], int]],
    max_requests: int,
    max_seconds: float,
    ok: tuple[int, ...] = (200,),
) -> Result:
    """Run ``concurrency`` threads, each with its own call closure, bounded in count and time."""
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0, 0]
    remaining = [max_requests]
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        call = make_call()
        while True:
            with lock:
                if remaining[0] <= 0 or time.monotonic() > deadline:
                    return
                remaining[0] -= 1
            start = time.perf_counter()
            try:
                status = call()
            except Exception:  # a failed request is counted, not fatal
                status = 599
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                if status not in ok:
                    errors[0] += 1
                    if status >= 500:
                        errors[1] += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    return Result(name, concurrency, len(latencies), errors[0], errors[1], seconds, latencies)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def require_loopback(url: str) -> None:
    """Exit unless every address ``url``'s host resolves to is a loopback one: these
    benchmarks load only a cloud on this machine."""
    host = urlsplit(url).hostname or ""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        raise SystemExit(f"cannot resolve the endpoint {url}: {exc}") from None
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"refusing to benchmark a non-loopback endpoint: {url}")


def public_endpoint(catalog: list[dict[str, Any]], *kinds: str) -> str:
    """The public URL of the first service of ``kinds`` in a token's catalog."""
    for kind in kinds:
        for entry in catalog:
            if entry["type"] == kind:
                for ep in entry["endpoints"]:
                    if ep["interface"] == "public":
                        return str(ep["url"]).rstrip("/")
    raise SystemExit(f"no {'/'.join(kinds)} endpoint in the catalog")
