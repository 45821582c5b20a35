"""Load balancer benchmark: create -> ACTIVE latency (POST, then polling GET every 20 ms).

    python benchmarks/load_balancer.py --os-cloud tinystack-admin --subnet <vip subnet id>
    python benchmarks/load_balancer.py --auth-url http://127.0.0.1:5000/v3 --username admin \
        --password ... --project-name admin --subnet <id>              # any Octavia

Creates ``--count`` load balancers one after another on the subnet, each timed from the
POST to the first GET that shows ``provisioning_status`` ACTIVE, then deletes them (and
waits for them to go). ``--provider`` picks the provider (default: the cloud's).

Target (issue #17): create -> ACTIVE p50 under 2 s (Octavia with amphorae takes minutes).
HTTP through the VIP against one member (wrk, data plane, as root): ``load_balancer_http.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Client, add_auth_args, creds_from_args, issue_token


def lb_url(catalog: dict[str, Any]) -> str:
    for service in catalog["token"]["catalog"]:
        if service["type"] == "load-balancer":
            for endpoint in service["endpoints"]:
                if endpoint["interface"] == "public":
                    return str(endpoint["url"]).rstrip("/")
    raise SystemExit("no load-balancer endpoint in the catalog")


def wait(client: Client, headers: dict[str, str], lb_id: str, gone: bool = False) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status, _, body = client.request("GET", f"/v2/lbaas/loadbalancers/{lb_id}", headers)
        if gone and status == 404:
            return "DELETED"
        if status == 200:
            state = str(json.loads(body)["loadbalancer"]["provisioning_status"])
            if not gone and state in ("ACTIVE", "ERROR"):
                return state
        time.sleep(0.02)
    raise SystemExit(f"load balancer {lb_id} did not settle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--subnet", required=True, help="VIP subnet id")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--provider", default=None)
    args = parser.parse_args()
    token, catalog = issue_token(creds_from_args(args))
    client = Client(lb_url(catalog))
    headers = {"X-Auth-Token": token}
    times, made = [], []
    try:
        for n in range(args.count):
            body: dict[str, Any] = {"vip_subnet_id": args.subnet, "name": f"bench-lb-{n}"}
            if args.provider:
                body["provider"] = args.provider
            started = time.perf_counter()
            status, _, payload = client.request(
                "POST", "/v2/lbaas/loadbalancers", headers, {"loadbalancer": body}
            )
            if status != 201:
                raise SystemExit(f"create: {status} {payload[:300]!r}")
            lb_id = json.loads(payload)["loadbalancer"]["id"]
            made.append(lb_id)
            state = wait(client, headers, lb_id)
            times.append(time.perf_counter() - started)
            if state != "ACTIVE":
                raise SystemExit(f"load balancer {lb_id} went {state}")
    finally:
        for lb_id in made:
            client.request("DELETE", f"/v2/lbaas/loadbalancers/{lb_id}?cascade=true", headers)
        for lb_id in made:
            wait(client, headers, lb_id, gone=True)
    times.sort()
    p90 = times[int(len(times) * 0.9) - 1] if len(times) >= 10 else times[-1]
    print(f"load balancer create -> ACTIVE: n={len(times)} p50={statistics.median(times):.3f}s "
          f"p90={p90:.3f}s max={times[-1]:.3f}s")  # fmt: skip


if __name__ == "__main__":
    main()
