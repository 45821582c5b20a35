"""Evacuation benchmark: N servers of a dead host, all ACTIVE on other hosts within a bound.

Works against any Compute API with two or more compute hosts (tinystack with
``[compute] fake_hosts = 2`` counts the control path; with the QEMU driver each server is
rebuilt from its image as a real guest)::

    OS_CLIENT_CONFIG_FILE=/tmp/ts/clouds.yaml python benchmarks/evacuate.py \\
        --os-cloud tinystack-admin --source fake-compute-1 --count 10

Phases:

1. ``--count`` servers are booted on ``--source`` (``availability_zone nova:<source>``,
   ``networks: none``) and waited for (ACTIVE);
2. the source's compute service is forced down (``PUT /os-services/{id}``, 2.53), as an
   operator does for a host that died;
3. every server is evacuated (one ``evacuate`` action each, no host: the scheduler
   chooses); the clock runs from the first request until every server is ACTIVE on
   another host (polled every 100 ms), bounded by ``--max-seconds`` (60: the target);
4. the servers are deleted and the service is forced up again; with ``--keep`` (and all
   moved in time) they are left running on their new hosts and the source stays forced
   down, so that what the source does when its agent restarts (destroy its stale copies)
   can be checked. Only loopback endpoints are accepted.

Every host needs room for ``--count`` servers of ``--flavor`` (placement's VCPU and
MEMORY_MB inventories times their allocation ratios), or the boot ends in ERROR (no
valid host).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _harness import add_auth_args, creds_from_args, issue_token, public_endpoint, require_loopback

VERSION = "compute 2.94"


class Bench:
    def __init__(self, compute: str, token: str) -> None:
        self.compute = compute
        headers = {"X-Auth-Token": token, "OpenStack-API-Version": VERSION}
        self.http = httpx.Client(base_url=compute, headers=headers, timeout=120)
        self.made: list[str] = []

    def service_id(self, host: str) -> str:
        found = self.http.get("/os-services", params={"host": host, "binary": "nova-compute"})
        found.raise_for_status()
        services = found.json()["services"]
        if not services:
            raise SystemExit(f"no compute service on {host}")
        return str(services[0]["id"])

    def force_down(self, service: str, down: bool) -> None:
        self.http.put(f"/os-services/{service}", json={"forced_down": down}).raise_for_status()

    def servers(self) -> dict[str, dict[str, Any]]:
        found = self.http.get("/servers/detail", params={"name": "^bench-evacuate"})
        found.raise_for_status()
        return {s["id"]: s for s in found.json()["servers"] if s["id"] in self.made}

    def wait(self, done: Any, max_seconds: float) -> float | None:
        started = time.perf_counter()
        while time.perf_counter() - started < max_seconds:
            servers = self.servers()
            if any(s["status"] == "ERROR" for s in servers.values()):
                bad = [s["fault"] for s in servers.values() if s["status"] == "ERROR"]
                raise SystemExit(f"servers in ERROR: {bad[:3]}")
            if len(servers) == len(self.made) and all(done(s) for s in servers.values()):
                return time.perf_counter() - started
            time.sleep(0.1)
        return None

    def boot(self, count: int, source: str, image: str, flavor: str) -> None:
        for n in range(count):
            body = {
                "server": {
                    "name": f"bench-evacuate-{n}",
                    "flavorRef": flavor,
                    "imageRef": image,
                    "networks": "none",
                    "availability_zone": f"nova:{source}",
                }
            }
            created = self.http.post("/servers", json=body)
            created.raise_for_status()
            self.made.append(str(created.json()["server"]["id"]))

    def evacuate(self) -> None:
        for sid in self.made:
            self.http.post(f"/servers/{sid}/action", json={"evacuate": {}}).raise_for_status()

    def cleanup(self) -> None:
        for sid in self.made:
            self.http.delete(f"/servers/{sid}")


def _settled(server: dict[str, Any]) -> bool:
    return server["status"] == "ACTIVE" and server["OS-EXT-STS:task_state"] is None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--source", required=True, help="the compute host that 'dies'")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--image", help="image id (default: the first active image)")
    parser.add_argument("--flavor", default="1")
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the evacuated servers running and the source forced down",
    )
    args = parser.parse_args()
    creds = creds_from_args(args)
    require_loopback(creds.auth_url)
    token, body = issue_token(creds)
    catalog = body["token"]["catalog"]
    compute = public_endpoint(catalog, "compute")
    require_loopback(compute)
    bench = Bench(compute, token)
    image = args.image
    if not image:
        images = httpx.get(
            f"{public_endpoint(catalog, 'image')}/v2/images",
            headers={"X-Auth-Token": token},
            params={"status": "active"},
        ).json()["images"]
        if not images:
            raise SystemExit("no active image: give --image")
        image = str(images[0]["id"])
    service = bench.service_id(args.source)
    result: dict[str, Any] = {"count": args.count, "source": args.source}
    try:
        bench.boot(args.count, args.source, image, args.flavor)
        booted = bench.wait(_settled, 600)
        if booted is None:
            raise SystemExit("the servers did not become ACTIVE")
        result["boot_seconds"] = round(booted, 2)
        bench.force_down(service, True)
        started = time.perf_counter()
        bench.evacuate()
        result["requests_seconds"] = round(time.perf_counter() - started, 2)
        moved = bench.wait(
            lambda s: _settled(s) and s["OS-EXT-SRV-ATTR:host"] != args.source,
            max(0.0, args.max_seconds - (time.perf_counter() - started)),
        )
        result["evacuate_seconds"] = (
            round(time.perf_counter() - started, 2) if moved is not None else None
        )
        result["within_bound"] = moved is not None
        hosts = sorted({s["OS-EXT-SRV-ATTR:host"] for s in bench.servers().values()})
        result["destinations"] = hosts
        if args.keep:
            result["kept"] = list(bench.made)
    finally:
        if not (args.keep and result.get("within_bound")):
            bench.force_down(service, False)
            bench.cleanup()
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for key, value in result.items():
            print(f"{key:<20} {value}")
    if not result.get("within_bound"):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
