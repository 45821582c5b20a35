"""Compute benchmark: boot throughput through the whole path, scheduler decision time,
``GET /servers/detail?limit=1000`` latency at 10,000 servers, and the server's RSS.

Works against any Compute API (tinystack or upstream, fake driver) on this machine:

    python benchmarks/compute.py --os-cloud tinystack-admin
    python benchmarks/compute.py --auth-url http://127.0.0.1:5000/v3 --username admin \\
        --password secret --project-name admin

For the figures in the issue, run tinystack with 1,000 fake compute hosts::

    cat > /tmp/bench.conf <<EOF
    [DEFAULT]
    state_dir = /tmp/ts-bench
    enabled_services = identity,placement,image,compute
    [compute]
    compute_driver = fake
    fake_hosts = 1000
    EOF
    tinystack up --config-file /tmp/bench.conf &
    OS_CLIENT_CONFIG_FILE=/tmp/ts-bench/clouds.yaml \\
        python benchmarks/compute.py --os-cloud tinystack-admin \\
        --pid-file /tmp/ts-bench/tinystack.pid

Phases (each bounded in count and time):

1. boot ``--servers`` servers (``networks: none``, flavor ``--flavor``) from
   ``--concurrency`` threads, then wait until none is in BUILD; report servers/s
   from the first request to the last server leaving BUILD, and the errors;
2. the scheduler decision time: for a sample of the new servers, the duration of
   the conductor's ``conductor_schedule_and_build_instances`` instance action event
   (select_destinations, the placement claim included);
3. boot more servers until ``--list-servers`` exist (unless ``--skip-list``), then
   time ``GET /servers/detail?limit=1000`` ``--list-requests`` times;
4. the RSS of the process named by ``--pid-file`` (or ``--pid``), if local.

It raises the project's instances/cores/ram quotas to unlimited first and
``--cleanup`` deletes every server it made. Only loopback endpoints are accepted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _harness import add_auth_args, creds_from_args, issue_token, public_endpoint, require_loopback

VERSION = "compute 2.96"
SCHEDULE_EVENT = "conductor_schedule_and_build_instances"


def _pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(q * len(data)))] if data else 0.0


class Bench:
    def __init__(self, compute: str, image: str, token: str, project: str) -> None:
        self.compute = compute
        self.image_url = image
        self.project = project
        self.headers = {"X-Auth-Token": token, "OpenStack-API-Version": VERSION}
        self.http = httpx.Client(headers=self.headers, timeout=120)
        self.made: list[str] = []

    def prepare(self, image: str | None) -> str:
        self.http.put(
            f"{self.compute}/os-quota-sets/{self.project}",
            json={"quota_set": {"instances": -1, "cores": -1, "ram": -1}},
        ).raise_for_status()
        if image:
            return image
        token = {"X-Auth-Token": self.headers["X-Auth-Token"]}
        created = self.http.post(
            f"{self.image_url}/v2/images",
            headers=token,
            json={"name": "bench-image", "disk_format": "raw", "container_format": "bare"},
        )
        created.raise_for_status()
        image_id = str(created.json()["id"])
        self.http.put(
            f"{self.image_url}/v2/images/{image_id}/file",
            headers={**token, "Content-Type": "application/octet-stream"},
            content=b"\0" * 4096,
        ).raise_for_status()
        return image_id

    def boot(
        self, count: int, concurrency: int, image: str, flavor: str, max_seconds: float
    ) -> dict[str, Any]:
        lock = threading.Lock()
        remaining = [count]
        latencies: list[float] = []
        errors: list[str] = []
        ids: list[str] = []
        deadline = time.monotonic() + max_seconds
        body = {
            "server": {"name": "bench", "flavorRef": flavor, "imageRef": image, "networks": "none"}
        }

        def worker() -> None:
            client = httpx.Client(headers=self.headers, timeout=120)
            while True:
                with lock:
                    if remaining[0] <= 0 or time.monotonic() > deadline:
                        return
                    remaining[0] -= 1
                started = time.perf_counter()
                try:
                    response = client.post(f"{self.compute}/servers", json=body)
                except httpx.HTTPError as exc:
                    errors.append(str(exc))
                    continue
                with lock:
                    latencies.append(time.perf_counter() - started)
                    if response.status_code == 202:
                        ids.append(response.json()["server"]["id"])
                    else:
                        errors.append(f"{response.status_code} {response.text[:200]}")

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        posted = time.perf_counter() - started
        while time.monotonic() < deadline + 120:
            building = self.http.get(
                f"{self.compute}/servers", params={"status": "BUILD", "limit": 1}
            ).json()["servers"]
            if not building:
                break
            time.sleep(0.2)
        total = time.perf_counter() - started
        self.made += ids
        failed = self.http.get(f"{self.compute}/servers", params={"status": "ERROR"}).json()
        return {
            "servers": len(ids),
            "concurrency": concurrency,
            "seconds": round(total, 2),
            "servers_per_s": round(len(ids) / total, 1) if total else 0.0,
            "post_seconds": round(posted, 2),
            "post_p50_ms": round(_pct(latencies, 0.5) * 1000, 1),
            "post_p99_ms": round(_pct(latencies, 0.99) * 1000, 1),
            "request_errors": len(errors),
            "error_servers": len(failed["servers"]),
            "first_errors": errors[:3],
        }

    def scheduler_times(self, sample: int) -> dict[str, Any]:
        durations = []
        for sid in self.made[-sample:]:
            actions = self.http.get(f"{self.compute}/servers/{sid}/os-instance-actions").json()
            create = next(a for a in actions["instanceActions"] if a["action"] == "create")
            detail = self.http.get(
                f"{self.compute}/servers/{sid}/os-instance-actions/{create['request_id']}"
            ).json()["instanceAction"]
            for event in detail.get("events", []):
                if event["event"] == SCHEDULE_EVENT and event["finish_time"]:
                    start = datetime.fromisoformat(event["start_time"])
                    finish = datetime.fromisoformat(event["finish_time"])
                    durations.append((finish - start).total_seconds())
        return {
            "sampled": len(durations),
            "p50_ms": round(_pct(durations, 0.5) * 1000, 1),
            "p90_ms": round(_pct(durations, 0.9) * 1000, 1),
            "mean_ms": round(statistics.mean(durations) * 1000, 1) if durations else 0.0,
        }

    def total_servers(self) -> int:
        count, marker = 0, None
        while True:
            params: dict[str, Any] = {"limit": 1000}
            if marker:
                params["marker"] = marker
            page = self.http.get(f"{self.compute}/servers", params=params).json()["servers"]
            count += len(page)
            if len(page) < 1000:
                return count
            marker = page[-1]["id"]

    def list_latency(self, requests: int) -> dict[str, Any]:
        latencies = []
        size = 0
        returned = 0
        for _ in range(requests):
            started = time.perf_counter()
            response = self.http.get(f"{self.compute}/servers/detail", params={"limit": 1000})
            latencies.append(time.perf_counter() - started)
            size = len(response.content)
            returned = len(response.json()["servers"])
        return {
            "requests": requests,
            "returned": returned,
            "bytes": size,
            "p50_ms": round(_pct(latencies, 0.5) * 1000, 1),
            "p90_ms": round(_pct(latencies, 0.9) * 1000, 1),
        }

    def cleanup(self, concurrency: int) -> None:
        lock = threading.Lock()

        def worker() -> None:
            client = httpx.Client(headers=self.headers, timeout=120)
            while True:
                with lock:
                    if not self.made:
                        return
                    sid = self.made.pop()
                client.delete(f"{self.compute}/servers/{sid}")

        threads = [threading.Thread(target=worker) for _ in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def rss_mib(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_auth_args(parser)
    parser.add_argument("--servers", type=int, default=1000, help="servers booted in phase 1")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=2,
        help="boot threads (on 2 cores more only adds queueing; see the report)",
    )
    parser.add_argument("--flavor", default="42", help="flavor id (default m1.nano)")
    parser.add_argument("--image", help="image id (default: upload a tiny raw image)")
    parser.add_argument("--sample", type=int, default=200, help="servers sampled in phase 2")
    parser.add_argument("--list-servers", type=int, default=10000)
    parser.add_argument("--list-requests", type=int, default=20)
    parser.add_argument("--skip-list", action="store_true")
    parser.add_argument("--max-seconds", type=float, default=900, help="bound of each boot phase")
    parser.add_argument("--pid", type=int)
    parser.add_argument("--pid-file")
    parser.add_argument("--cleanup", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    creds = creds_from_args(args)
    require_loopback(creds.auth_url)
    token, body = issue_token(creds)
    catalog = body["token"]["catalog"]
    compute, image = public_endpoint(catalog, "compute"), public_endpoint(catalog, "image")
    require_loopback(compute)
    pid = args.pid or (int(Path(args.pid_file).read_text()) if args.pid_file else None)
    bench = Bench(compute, image, token, body["token"]["project"]["id"])
    image_id = bench.prepare(args.image)
    results: dict[str, Any] = {}
    results["boot"] = bench.boot(
        args.servers, args.concurrency, image_id, args.flavor, args.max_seconds
    )
    print("boot:", json.dumps(results["boot"]), flush=True)
    results["scheduler"] = bench.scheduler_times(min(args.sample, len(bench.made)))
    print("scheduler decision:", json.dumps(results["scheduler"]), flush=True)
    results["rss_mib_after_boot"] = rss_mib(pid)
    if not args.skip_list:
        missing = args.list_servers - bench.total_servers()
        if missing > 0:
            results["fill"] = bench.boot(
                missing, args.concurrency, image_id, args.flavor, args.max_seconds
            )
            print("fill:", json.dumps(results["fill"]), flush=True)
        results["total_servers"] = bench.total_servers()
        results["list"] = bench.list_latency(args.list_requests)
        print(
            f"list with {results['total_servers']} servers:",
            json.dumps(results["list"]),
            flush=True,
        )
    results["rss_mib"] = rss_mib(pid)
    print("rss MiB:", results["rss_mib"], flush=True)
    if args.cleanup:
        bench.cleanup(args.concurrency)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
