"""Placement benchmark: allocation candidates and allocation claims on 1,000 providers.

Works against any Placement (tinystack or upstream) on this machine:

    python benchmarks/placement.py --os-cloud tinystack-admin
    python benchmarks/placement.py --auth-url http://127.0.0.1:5000/v3 \\
        --username admin --password secret --project-name admin
    python benchmarks/placement.py --placement-url http://127.0.0.1:8778 --token <token>

It creates (idempotently) ``--providers`` resource providers named
``<prefix>NNNN`` with VCPU, MEMORY_MB and DISK_GB inventories and a few
traits, then measures

* ``GET /allocation_candidates?resources=VCPU:1,MEMORY_MB:512&limit=50`` at
  concurrency 1 and 4, and
* ``PUT /allocations/{consumer}`` (a new consumer claiming VCPU:1,MEMORY_MB:512
  on a provider chosen round-robin) at concurrency 1, 4 and 16,

reporting requests per second, p50 and p99 latency and the count of HTTP 5xx.
Every phase is bounded by a request count and a time limit. The allocations it
made are deleted at the end; ``--cleanup`` also deletes the providers.
Only loopback endpoints are accepted.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx

VERSION = "placement 1.39"
NAMESPACE = uuid.UUID("6f1c9b1e-2d43-4a7e-9a55-0c1f5e3b7a10")
TRAITS = ["HW_CPU_X86_AVX", "HW_CPU_X86_AVX2", "HW_CPU_X86_SSE42"]
CANDIDATES = "/allocation_candidates?resources=VCPU:1,MEMORY_MB:512&limit=50"


@dataclass
class Result:
    name: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    elapsed: float = 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        count = len(ordered)

        def pct(p: float) -> float:
            if not ordered:
                return float("nan")
            return ordered[min(count - 1, int(round(p * (count - 1))))] * 1000

        return {
            "test": self.name,
            "concurrency": self.concurrency,
            "requests": count,
            "rate_per_s": round(count / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
            "p99_ms": round(pct(0.99), 2),
            "http_5xx": sum(n for s, n in self.statuses.items() if s >= 500),
            "statuses": dict(sorted(self.statuses.items())),
        }


class Placement:
    """A thread-safe pool of keep-alive clients for one Placement endpoint."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.headers = {
            "x-auth-token": token,
            "openstack-api-version": VERSION,
            "accept": "application/json",
        }
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(base_url=self.url, headers=self.headers, timeout=60.0)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.client.request(method, path, json=body)

    def close(self) -> None:
        for client in self._clients:
            client.close()


def check_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)}
    except socket.gaierror:
        sys.exit(f"cannot resolve {host}")
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        sys.exit(f"refusing to benchmark {url}: only loopback endpoints are allowed")


def authenticate(args: argparse.Namespace) -> tuple[str, str]:
    """A token and the placement URL, from --token/--placement-url, clouds.yaml or a password."""
    if args.token:
        if not args.placement_url:
            sys.exit("--token needs --placement-url")
        return args.token, args.placement_url
    if args.os_cloud:
        import openstack.config

        cloud = openstack.config.OpenStackConfig().get_one(cloud=args.os_cloud)
        session = cloud.get_session()
    else:
        from keystoneauth1 import session as ks_session
        from keystoneauth1.identity import v3

        if not (args.auth_url and args.username and args.password and args.project_name):
            sys.exit("give --os-cloud, or --auth-url/--username/--password/--project-name")
        auth = v3.Password(
            auth_url=args.auth_url,
            username=args.username,
            password=args.password,
            project_name=args.project_name,
            user_domain_name=args.user_domain_name,
            project_domain_name=args.project_domain_name,
        )
        session = ks_session.Session(auth=auth)
    token = session.get_token()
    url = args.placement_url or session.get_endpoint(service_type="placement", interface="public")
    if not token or not url:
        sys.exit("could not get a token and a placement endpoint")
    return str(token), str(url)


def provider_uuid(prefix: str, index: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{prefix}{index:04d}"))


def ensure_provider(api: Placement, prefix: str, index: int) -> str:
    """Create provider ``index`` with inventory and traits unless it is complete already."""
    rp = provider_uuid(prefix, index)
    found = api.request("GET", f"/resource_providers/{rp}/inventories")
    if found.status_code == 200 and found.json()["inventories"]:
        return rp
    if found.status_code == 404:
        created = api.request(
            "POST", "/resource_providers", {"name": f"{prefix}{index:04d}", "uuid": rp}
        )
        created.raise_for_status()
    generation = api.request("GET", f"/resource_providers/{rp}").json()["generation"]
    inventories = {
        "VCPU": {"total": 64, "allocation_ratio": 4.0},
        "MEMORY_MB": {"total": 262144, "reserved": 512},
        "DISK_GB": {"total": 4096},
    }
    body = {"resource_provider_generation": generation, "inventories": inventories}
    response = api.request("PUT", f"/resource_providers/{rp}/inventories", body)
    response.raise_for_status()
    traits = TRAITS[: 1 + index % len(TRAITS)] + [f"CUSTOM_BENCH_RACK_{index % 4}"]
    body = {"traits": traits, "resource_provider_generation": response.json()[
        "resource_provider_generation"]}  # fmt: skip
    api.request("PUT", f"/resource_providers/{rp}/traits", body).raise_for_status()
    return rp


def setup(api: Placement, prefix: str, count: int) -> list[str]:
    for rack in range(4):
        api.request("PUT", f"/traits/CUSTOM_BENCH_RACK_{rack}").raise_for_status()
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        providers = list(pool.map(lambda i: ensure_provider(api, prefix, i), range(count)))
    print(f"setup: {count} providers ready in {time.monotonic() - started:.1f}s", flush=True)
    return providers


def run(
    name: str,
    concurrency: int,
    requests: int,
    seconds: float,
    call: Callable[[int], httpx.Response],
) -> Result:
    """Issue up to ``requests`` calls (or until ``seconds`` pass) from ``concurrency`` threads."""
    result = Result(name, concurrency)
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                number = next(counter, None)
            if number is None:
                return
            start = time.perf_counter()
            try:
                status = call(number).status_code
            except httpx.HTTPError:
                status = 599
            latency = time.perf_counter() - start
            with lock:
                result.latencies.append(latency)
                result.statuses[status] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed = time.monotonic() - started
    return result


def bench_candidates(api: Placement, args: argparse.Namespace) -> list[Result]:
    results = []
    for concurrency in (1, 4):
        api.request("GET", CANDIDATES)  # warm-up
        results.append(
            run(
                "GET allocation_candidates limit=50",
                concurrency,
                args.requests,
                args.seconds,
                lambda _n: api.request("GET", CANDIDATES),
            )
        )
    return results


def bench_allocations(
    api: Placement, providers: list[str], args: argparse.Namespace, made: list[str]
) -> list[Result]:
    results = []
    for concurrency in (1, 4, 16):
        run_id = uuid.uuid4().hex[:8]

        def claim(number: int, run_id: str = run_id) -> httpx.Response:
            consumer = str(uuid.uuid5(NAMESPACE, f"{run_id}-{number}"))
            made.append(consumer)
            body = {
                "allocations": {
                    providers[number % len(providers)]: {"resources": {"VCPU": 1, "MEMORY_MB": 512}}
                },
                "project_id": "benchmark",
                "user_id": "benchmark",
                "consumer_generation": None,
                "consumer_type": "INSTANCE",
            }
            return api.request("PUT", f"/allocations/{consumer}", body)

        results.append(run("PUT allocations", concurrency, args.requests, args.seconds, claim))
    return results


def cleanup(api: Placement, consumers: list[str], providers: list[str], all_: bool) -> None:
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: api.request("DELETE", f"/allocations/{c}"), consumers))
        if all_:
            list(pool.map(lambda p: api.request("DELETE", f"/resource_providers/{p}"), providers))
    print(f"cleanup: done in {time.monotonic() - started:.1f}s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--os-cloud", help="a cloud from clouds.yaml")
    parser.add_argument("--auth-url")
    parser.add_argument("--username")
    parser.add_argument("--password")
    parser.add_argument("--project-name")
    parser.add_argument("--user-domain-name", default="Default")
    parser.add_argument("--project-domain-name", default="Default")
    parser.add_argument("--token", help="use this token (needs --placement-url)")
    parser.add_argument("--placement-url", help="override the catalog's placement endpoint")
    parser.add_argument("--providers", type=int, default=1000)
    parser.add_argument("--prefix", default="bench-rp-")
    parser.add_argument("--requests", type=int, default=2000, help="most requests per phase")
    parser.add_argument("--seconds", type=float, default=15.0, help="longest time per phase")
    parser.add_argument("--cleanup", action="store_true", help="also delete the providers")
    parser.add_argument("--json", action="store_true", help="print results as JSON lines")
    args = parser.parse_args()

    token, url = authenticate(args)
    check_loopback(url)
    api = Placement(url, token)
    print(f"placement: {url}", flush=True)
    made: list[str] = []
    providers = setup(api, args.prefix, args.providers)
    try:
        results = bench_candidates(api, args) + bench_allocations(api, providers, args, made)
    finally:
        cleanup(api, made, providers, args.cleanup)
        api.close()
    for result in results:
        summary = result.summary()
        if args.json:
            print(json.dumps(summary))
        else:
            print(
                f"{summary['test']:<36} c={summary['concurrency']:<3} "
                f"{summary['rate_per_s']:>8.1f} req/s  p50 {summary['p50_ms']:>7.2f} ms  "
                f"p99 {summary['p99_ms']:>7.2f} ms  5xx {summary['http_5xx']}  "
                f"{summary['statuses']}"
            )


if __name__ == "__main__":
    main()
