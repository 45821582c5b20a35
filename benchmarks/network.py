"""Networking benchmark: port create latency with many ports in the database, topology setup.

    python benchmarks/network.py --os-cloud tinystack-admin          # uses OS_CLIENT_CONFIG_FILE
    python benchmarks/network.py --auth-url http://127.0.0.1:5000/v3 --username admin \
        --password ... --project-name admin                            # any Neutron

1. Bulk-creates ``--ports`` ports (``{"ports": [...]}`` in batches) on a /18 network.
2. Measures single port creates (c=1 and c=4) with that many ports in the database.
3. Measures network + subnet + router + router interface setup, ``--setups`` times.
4. Deletes everything it made and restores the project's port/network quotas.

Targets (issue #6): port create p50 < 15 ms with 10,000 ports; setup < 100 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Client, Result, add_auth_args, creds_from_args, issue_token, median, run


def network_url(catalog: dict[str, Any]) -> str:
    for service in catalog["token"]["catalog"]:
        if service["type"] == "network":
            for endpoint in service["endpoints"]:
                if endpoint["interface"] == "public":
                    return str(endpoint["url"]).rstrip("/")
    raise SystemExit("no network endpoint in the catalog")


class Neutron:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.headers = {"X-Auth-Token": token}
        self.client = Client(url)

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> Any:
        status, _, payload = self.client.request(method, "/v2.0" + path, self.headers, body)
        if status not in ok:
            raise SystemExit(f"{method} {path}: {status} {payload[:300]!r}")
        return json.loads(payload) if payload else None


def create_ports_in_bulk(api: Neutron, network_id: str, count: int, batch: int) -> list[str]:
    ids: list[str] = []
    started = time.perf_counter()
    while len(ids) < count:
        size = min(batch, count - len(ids))
        body = {"ports": [{"network_id": network_id, "name": "bench"} for _ in range(size)]}
        ids += [p["id"] for p in api.call("POST", "/ports", body, ok=(201,))["ports"]]
    seconds = time.perf_counter() - started
    print(f"bulk-created {len(ids)} ports in {seconds:.1f}s ({len(ids) / seconds:.0f}/s)")
    return ids


def delete_all(url: str, token: str, paths: list[str], threads: int = 8) -> None:
    pending = list(paths)
    lock = threading.Lock()

    def worker() -> None:
        api = Neutron(url, token)
        while True:
            with lock:
                if not pending:
                    return
                path = pending.pop()
            api.call("DELETE", path, ok=(204, 404))

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def setup_topology(api: Neutron, external_id: str | None, index: int) -> tuple[float, list[str]]:
    """network + subnet + router (+ gateway when there is an external network) + interface."""
    started = time.perf_counter()
    net = api.call("POST", "/networks", {"network": {"name": f"bench-{index}"}}, ok=(201,))
    net_id = net["network"]["id"]
    subnet = api.call(
        "POST",
        "/subnets",
        {
            "subnet": {
                "network_id": net_id,
                "ip_version": 4,
                "cidr": f"10.{100 + index % 100}.0.0/24",
            }
        },
        ok=(201,),
    )["subnet"]
    body: dict[str, Any] = {"name": f"bench-{index}"}
    if external_id:
        body["external_gateway_info"] = {"network_id": external_id}
    router = api.call("POST", "/routers", {"router": body}, ok=(201,))["router"]
    api.call("PUT", f"/routers/{router['id']}/add_router_interface", {"subnet_id": subnet["id"]})
    seconds = time.perf_counter() - started
    return seconds, [router["id"], subnet["id"], net_id]


def teardown_topology(api: Neutron, router_id: str, subnet_id: str, net_id: str) -> None:
    api.call("PUT", f"/routers/{router_id}/remove_router_interface", {"subnet_id": subnet_id})
    api.call("DELETE", f"/routers/{router_id}", ok=(204,))
    api.call("DELETE", f"/networks/{net_id}", ok=(204,))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_auth_args(parser)
    parser.add_argument("--ports", type=int, default=10000, help="ports in the database")
    parser.add_argument("--batch", type=int, default=500, help="ports per bulk request")
    parser.add_argument("--samples", type=int, default=300, help="timed port creates per run")
    parser.add_argument("--setups", type=int, default=20, help="timed topology setups")
    parser.add_argument("--seconds", type=float, default=30.0, help="time bound per run")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    creds = creds_from_args(args)
    token, body = issue_token(creds)
    project_id = body["token"]["project"]["id"]
    url = network_url(body)
    api = Neutron(url, token)
    quota = api.call("GET", f"/quotas/{project_id}")["quota"]
    api.call(
        "PUT",
        f"/quotas/{project_id}",
        {"quota": {"port": -1, "network": -1, "subnet": -1, "router": -1}},
    )
    tag = uuid.uuid4().hex[:8]
    net = api.call("POST", "/networks", {"network": {"name": f"bench-ports-{tag}"}}, ok=(201,))
    net_id = net["network"]["id"]
    api.call(
        "POST",
        "/subnets",
        {"subnet": {"network_id": net_id, "ip_version": 4, "cidr": "10.64.0.0/18"}},
        ok=(201,),
    )
    port_ids: list[str] = []
    results: list[Result] = []
    try:
        port_ids += create_ports_in_bulk(api, net_id, args.ports, args.batch)
        made: list[str] = []
        made_lock = threading.Lock()

        def create() -> Callable[[], int]:
            client = Neutron(url, token)

            def call() -> int:
                status, _, payload = client.client.request(
                    "POST", "/v2.0/ports", client.headers, {"port": {"network_id": net_id}}
                )
                if status == 201:
                    with made_lock:
                        made.append(json.loads(payload)["port"]["id"])
                return status

            return call

        for concurrency in (1, 4):
            results.append(
                run(
                    f"POST /v2.0/ports ({args.ports} in db)",
                    concurrency,
                    create,
                    args.samples,
                    args.seconds,
                    ok=(201,),
                )
            )
            print(results[-1].line(), flush=True)
        port_ids += made
        public = api.call("GET", "/networks?router:external=true")["networks"]
        external = public[0]["id"] if public else None
        totals: list[float] = []
        deadline = time.monotonic() + args.seconds
        for i in range(args.setups):
            if time.monotonic() > deadline:
                break
            seconds, ids = setup_topology(api, external, i)
            totals.append(seconds)
            teardown_topology(api, *ids)
        print(
            f"network+subnet+router{'+gateway' if external else ''}+interface setup: "
            f"p50 {median(totals) * 1000:.1f} ms  max {max(totals) * 1000:.1f} ms  n={len(totals)}"
        )
    finally:
        started = time.perf_counter()
        delete_all(url, token, [f"/ports/{pid}" for pid in port_ids])
        api = Neutron(url, token)  # the old connection idled while ports were deleted
        api.call("DELETE", f"/networks/{net_id}", ok=(204,))
        restore = {k: quota[k] for k in ("port", "network", "subnet", "router") if k in quota}
        api.call("PUT", f"/quotas/{project_id}", {"quota": restore})
        print(f"cleaned up {len(port_ids)} ports in {time.perf_counter() - started:.1f}s")
    if args.json:
        out = [r.as_dict() for r in results]
        out.append({"name": "topology setup", "p50_ms": round(median(totals) * 1000, 2)})
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
