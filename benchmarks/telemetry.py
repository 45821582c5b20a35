"""Telemetry benchmark: measures ingested and aggregated per second, and reading a week
of one metric at 1-minute granularity.

Works against any Gnocchi v1 API on this machine (tinystack's metric service, or
upstream Gnocchi) with a Keystone token, or a metric URL and token given directly::

    OS_CLIENT_CONFIG_FILE=/tmp/ts/clouds.yaml python benchmarks/telemetry.py \\
        --os-cloud tinystack-admin
    python benchmarks/telemetry.py --metric-url http://127.0.0.1:8041 --token ...

Phases (bounded in count and time; the metrics it creates are deleted at the end):

1. ``--metrics`` metrics with the ``medium`` archive policy (1-minute points for 7 days,
   1-hour points for a year; mean, min, max, sum, std, count), then ``--batches``
   batches of ``--batch`` measures (1 s apart, consecutive per metric) posted at
   ``--concurrency`` (``POST /v1/metric/{id}/measures``); the ingest rate counts a
   measure when the API accepted it into the backlog (202; both tinystack and Gnocchi
   queue it for their metric workers), the aggregated rate until ``/v1/status`` shows
   no measures to process (polled every 0.1 s);
2. one metric filled with 7 days of measures (one a minute), then ``--reads`` reads of
   its 1-minute means (``GET /v1/metric/{id}/measures?granularity=60``): p50 and p90.

Only loopback endpoints are accepted.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Client, add_auth_args, creds_from_args, issue_token, require_loopback

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
WEEK = 7 * 86400


def _metric_url(catalog: list[dict[str, Any]]) -> str:
    for entry in catalog:
        if entry["type"] == "metric":
            for endpoint in entry["endpoints"]:
                if endpoint["interface"] == "public":
                    return str(endpoint["url"])
    raise SystemExit("no metric endpoint in the catalog")


class Metric:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.local = threading.local()

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        client = getattr(self.local, "client", None)
        if client is None:
            client = self.local.client = Client(self.url)
        status, _, payload = client.request(method, path, {"X-Auth-Token": self.token}, body)
        return status, payload

    def create(self, name: str) -> str:
        status, body = self.call("POST", "/v1/metric",
                                 {"name": name, "archive_policy_name": "medium"})  # fmt: skip
        if status != 201:
            raise SystemExit(f"metric create: {status} {body[:200]!r}")
        return str(json.loads(body)["id"])

    def backlog(self) -> int:
        status, body = self.call("GET", "/v1/status")
        if status != 200:
            return 0
        summary = json.loads(body).get("storage", {}).get("summary", {})
        return int(summary.get("measures", 0))


def _measures(start: float, count: int, step: float) -> list[dict[str, Any]]:
    return [{"timestamp": start + i * step, "value": float(i % 97)} for i in range(count)]


def ingest(api: Metric, metrics: int, batches: int, batch: int, threads: int) -> dict[str, Any]:
    ids = [api.create(f"bench.ingest.{n}") for n in range(metrics)]
    jobs = [(ids[n % metrics], n // metrics) for n in range(batches)]
    errors = 0
    lock = threading.Lock()

    def post(job: tuple[str, int]) -> None:
        nonlocal errors
        mid, index = job
        status, _ = api.call("POST", f"/v1/metric/{mid}/measures",
                             _measures(T0 + index * batch, batch, 1.0))  # fmt: skip
        if status != 202:
            with lock:
                errors += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, jobs))
    accepted = time.perf_counter() - started
    queued = api.backlog()  # what the workers still had to do when the last 202 came
    deadline = time.monotonic() + 600
    while api.backlog() and time.monotonic() < deadline:
        time.sleep(0.1)
    aggregated = time.perf_counter() - started
    total = batches * batch
    for mid in ids:
        api.call("DELETE", f"/v1/metric/{mid}")
    return {
        "measures": total,
        "errors": errors,
        "batch_posts_per_s": round(batches / accepted, 1),
        "accepted_per_s": round(total / accepted),
        "accepted_s": round(accepted, 2),
        "queued_at_last_202": queued,
        "drained_s": round(aggregated, 2),
        "aggregated_per_s": round(total / aggregated),
    }


def read_week(api: Metric, reads: int) -> dict[str, Any]:
    mid = api.create("bench.week")
    minutes = WEEK // 60
    for start in range(0, minutes, 5000):
        count = min(5000, minutes - start)
        api.call("POST", f"/v1/metric/{mid}/measures",
                 _measures(T0 + start * 60, count, 60.0))  # fmt: skip
    deadline = time.monotonic() + 600
    while api.backlog() and time.monotonic() < deadline:
        time.sleep(0.2)
    times, points = [], 0
    for _ in range(reads):
        started = time.perf_counter()
        status, body = api.call("GET", f"/v1/metric/{mid}/measures?granularity=60")
        times.append((time.perf_counter() - started) * 1000)
        if status == 200:
            points = len(json.loads(body))
    api.call("DELETE", f"/v1/metric/{mid}")
    times.sort()
    return {"points": points, "p50_ms": round(times[len(times) // 2], 1),
            "p90_ms": round(times[int(len(times) * 0.9)], 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--metric-url")
    parser.add_argument("--token")
    parser.add_argument("--metrics", type=int, default=8)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--reads", type=int, default=20)
    args = parser.parse_args()
    if args.metric_url and args.token:
        url, token = args.metric_url, args.token
    else:
        token, body = issue_token(creds_from_args(args))
        url = _metric_url(body["token"]["catalog"])
    require_loopback(url)
    api = Metric(url, token)
    report = {
        "ingest": ingest(api, args.metrics, args.batches, args.batch, args.concurrency),
        "read_week": read_week(api, args.reads),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
