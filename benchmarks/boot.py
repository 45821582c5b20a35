"""Boot benchmark with real guests: API request -> ACTIVE, -> boot marker, delete time,
N guests booted at once, and the compute process's memory per guest.

Works against any Compute API on this machine whose hosts run real guests (tinystack
with the QEMU driver, or upstream nova with libvirt) and an image whose console prints
a marker line when the guest is up (the tinystack test image prints
``TINYSTACK-GUEST-READY``)::

    cat > /tmp/boot.conf <<EOF
    [DEFAULT]
    state_dir = /tmp/ts-boot
    enabled_services = identity,placement,image,compute
    [compute]
    compute_driver = tinystack.compute.virt.qemu.factory:qemu_driver
    force_config_drive = true
    cpu_allocation_ratio = 16
    EOF
    mkdir -p /tmp/ts-boot/bootstrap-images
    tinystack image build-test --state-dir /tmp/ts-boot --no-install   # ~1 s
    tinystack up --config-file /tmp/boot.conf &
    OS_CLIENT_CONFIG_FILE=/tmp/ts-boot/clouds.yaml python benchmarks/boot.py \\
        --os-cloud tinystack-admin --pid-file /tmp/ts-boot/tinystack.pid

Phases (each bounded in time):

1. ``--repeat`` single boots, one after the other: ``POST /servers`` (``networks:
   none``) until the server is ACTIVE (polled every 50 ms), until the marker is in
   its console output, then ``DELETE`` until the server is gone (404);
2. ``--concurrent`` servers created at once (one thread each): the time until all
   are ACTIVE and until every console shows the marker; the compute process's RSS
   (``--pid-file``) before and with them running gives its memory per guest; the RSS
   of the guests' QEMU processes is shown for scale (it is the guests, not the driver);
3. everything it created is deleted. Only loopback endpoints are accepted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _harness import add_auth_args, creds_from_args, issue_token, public_endpoint, require_loopback

VERSION = "compute 2.96"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def qemu_rss_kb() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            if args and args[0].endswith(b"qemu-system-x86_64"):
                found.append(rss_kb(int(entry.name)))
        except (OSError, ValueError):
            continue
    return found


class Bench:
    def __init__(self, compute: str, token: str, image: str, flavor: str, marker: str) -> None:
        self.http = httpx.Client(
            base_url=compute,
            headers={"X-Auth-Token": token, "OpenStack-API-Version": VERSION},
            timeout=60,
        )
        self.image = image
        self.flavor = flavor
        self.marker = marker

    def create(self, name: str) -> tuple[str, float]:
        body = {
            "server": {
                "name": name,
                "imageRef": self.image,
                "flavorRef": self.flavor,
                "networks": "none",
            }
        }
        started = time.monotonic()
        resp = self.http.post("/servers", json=body)
        if resp.status_code != 202:
            raise SystemExit(f"create failed: {resp.status_code} {resp.text[:300]}")
        return str(resp.json()["server"]["id"]), started

    def wait_active(self, sid: str, timeout: float = 120) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            server = self.http.get(f"/servers/{sid}").json()["server"]
            if server["status"] == "ACTIVE":
                return time.monotonic()
            if server["status"] == "ERROR":
                raise SystemExit(f"{sid} went to ERROR: {server.get('fault')}")
            time.sleep(0.05)
        raise SystemExit(f"{sid} not ACTIVE in {timeout}s")

    def wait_marker(self, sid: str, timeout: float = 300) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = self.http.post(
                f"/servers/{sid}/action", json={"os-getConsoleOutput": {"length": 200}}
            )
            if resp.status_code == 200 and self.marker in resp.json().get("output", ""):
                return time.monotonic()
            time.sleep(0.1)
        raise SystemExit(f"no {self.marker} on the console of {sid} in {timeout}s")

    def delete(self, sid: str, timeout: float = 60) -> float:
        started = time.monotonic()
        self.http.delete(f"/servers/{sid}")
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.http.get(f"/servers/{sid}").status_code == 404:
                return time.monotonic() - started
            time.sleep(0.02)
        raise SystemExit(f"{sid} not deleted in {timeout}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_auth_args(parser)
    parser.add_argument("--image", default="tinystack-test", help="image name or id")
    parser.add_argument("--flavor", default="m1.tiny", help="flavor name or id")
    parser.add_argument("--marker", default="TINYSTACK-GUEST-READY")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrent", type=int, default=10)
    parser.add_argument("--pid-file", help="pidfile of the process running the compute hosts")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    creds = creds_from_args(args)
    require_loopback(creds.auth_url)
    token, body = issue_token(creds)
    catalog = body["token"]["catalog"]
    compute, image_url = public_endpoint(catalog, "compute"), public_endpoint(catalog, "image")
    require_loopback(compute)
    headers = {"X-Auth-Token": token}
    images = httpx.get(f"{image_url}/v2/images", params={"name": args.image}, headers=headers)
    found = images.json().get("images", [])
    image_id = found[0]["id"] if found else args.image
    flavors = httpx.get(
        f"{compute}/flavors", headers={**headers, "OpenStack-API-Version": VERSION}
    ).json()["flavors"]
    flavor_id = next((f["id"] for f in flavors if args.flavor in (f["name"], f["id"])), args.flavor)
    pid = int(Path(args.pid_file).read_text().split()[0]) if args.pid_file else None
    bench = Bench(compute, token, image_id, flavor_id, args.marker)
    results: dict[str, Any] = {}

    singles = []
    for n in range(args.repeat):
        sid, started = bench.create(f"boot-bench-{n}")
        active = bench.wait_active(sid)
        marker = bench.wait_marker(sid)
        deleted = bench.delete(sid)
        singles.append((active - started, marker - started, deleted))
        print(
            f"boot {n}: ACTIVE {active - started:5.2f}s  marker {marker - started:5.2f}s  "
            f"delete {deleted:5.2f}s",
            flush=True,
        )
    if singles:
        results["single"] = {
            "active_s": [round(s[0], 3) for s in singles],
            "marker_s": [round(s[1], 3) for s in singles],
            "delete_s": [round(s[2], 3) for s in singles],
            "active_median_s": round(statistics.median(s[0] for s in singles), 3),
            "marker_median_s": round(statistics.median(s[1] for s in singles), 3),
            "delete_median_s": round(statistics.median(s[2] for s in singles), 3),
        }

    if args.concurrent:
        rss_before = rss_kb(pid) if pid else 0
        qemu_before = len(qemu_rss_kb())
        ids: list[str] = []
        times: dict[str, tuple[float, float, float]] = {}
        errors: list[str] = []
        lock = threading.Lock()

        def one(n: int) -> None:
            try:
                sid, started = bench.create(f"boot-bench-c{n}")
                with lock:
                    ids.append(sid)
                active = bench.wait_active(sid)
                marker = bench.wait_marker(sid)
            except BaseException as exc:  # reported, not fatal
                with lock:
                    errors.append(f"server {n}: {exc}")
                return
            with lock:
                times[sid] = (started, active, marker)

        threads = [threading.Thread(target=one, args=(n,)) for n in range(args.concurrent)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        all_marked = time.monotonic() - t0
        for error in errors:
            print(error, flush=True)
        rss_with = rss_kb(pid) if pid else 0
        guests = qemu_rss_kb()
        reached = len(times)
        print(
            f"{args.concurrent} at once: {reached} reached the marker; all ACTIVE "
            f"{max(a for _, a, _ in times.values()) - t0:.2f}s, all marked {all_marked:.1f}s",
            flush=True,
        )
        results["concurrent"] = {
            "servers": args.concurrent,
            "reached_marker": reached,
            "all_active_s": round(max(a for _, a, _ in times.values()) - t0, 3),
            "all_marker_s": round(all_marked, 3),
            "errors": errors,
            "marker_each_s": sorted(round(m - s, 2) for s, _, m in times.values()),
        }
        if pid:
            per_guest = (rss_with - rss_before) / max(1, reached)
            results["memory"] = {
                "compute_rss_before_kb": rss_before,
                "compute_rss_with_guests_kb": rss_with,
                "driver_kb_per_guest": round(per_guest, 1),
                "qemu_processes": len(guests) - qemu_before,
                "qemu_rss_median_kb": int(statistics.median(guests)) if guests else 0,
            }
            print(
                f"compute process RSS {rss_before / 1024:.1f} -> {rss_with / 1024:.1f} MiB: "
                f"{per_guest:.0f} KiB per guest (each QEMU: "
                f"{results['memory']['qemu_rss_median_kb'] / 1024:.0f} MiB RSS)",
                flush=True,
            )
        started = time.monotonic()
        for sid in ids:
            bench.http.delete(f"/servers/{sid}")
        for sid in ids:
            while bench.http.get(f"/servers/{sid}").status_code != 404:
                time.sleep(0.05)
        results["concurrent"]["delete_all_s"] = round(time.monotonic() - started, 3)
        print(f"deleted {len(ids)} in {time.monotonic() - started:.2f}s", flush=True)

    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
