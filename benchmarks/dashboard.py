"""Dashboard benchmark: the Instances page of a project with many servers, in the Skyline
console served by tinystack and in upstream Horizon, against the same cloud.

Targets (the dashboard issue's "Performance"): first byte of the console's servers list
API under 100 ms, the Instances page fully rendered in the browser under 1.5 s, and a
state change (ACTIVE -> SHUTOFF by ``openstack server stop``) shown in an open page
within 2 s. Horizon's project instances page is timed the same way for comparison.

Against a cloud whose compute hosts are fake (``[compute] compute_driver = fake``, large
``fake_host_sizes``, ``quota_instances = -1`` ...) with Horizon enabled
(``[dashboard] horizon_port``)::

    OS_CLIENT_CONFIG_FILE=<state_dir>/clouds.yaml python benchmarks/dashboard.py \\
        --os-cloud tinystack-demo --dashboard-url http://127.0.0.1:8000 \\
        --horizon-url http://127.0.0.1:8001 --servers 1000

Phases:

1. boot: the project's servers are counted; missing ones (up to ``--servers``) are created
   with multi-create (``max_count``, ``networks: none``) and awaited ACTIVE;
2. Skyline: a headless chromium (Debian's, ``/usr/bin/chromium``; never a download) logs in
   through the console's login API and opens ``/compute/instance`` ``--repeat`` times; the
   time until the table shows its rows with no spinner left is "rendered". The extension
   servers request the page made is then replayed ``--repeat`` times with a plain HTTP
   client holding the same session: the time from sending it until the status line
   arrives is "first byte", until the whole body is read "total";
3. Horizon: the same for ``/project/instances/`` after Horizon's login form (its first
   byte is the page itself: Horizon renders the table server-side);
4. state change: with the Skyline page open, one ACTIVE server on it is stopped through
   the Compute API (timed from its 202) and another with ``openstack server stop`` (timed
   from launching the command and from its exit; negative: shown before the CLI
   returned) until its row reads "Shutoff" (both are started again afterwards).

Only loopback URLs are accepted. Servers it created are left for the next run unless
``--cleanup``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from _harness import add_auth_args, creds_from_args, issue_token, public_endpoint, require_loopback

API = "/api/openstack/skyline/api/v1"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PREFIX = "bench-dash"
#: the console's table has its rows and nothing spins any more
SKYLINE_READY = """() => {
  const rows = document.querySelectorAll('.ant-table-tbody tr.ant-table-row');
  return rows.length > 0 && !document.querySelector('.ant-spin-spinning');
}"""
HORIZON_READY = """() => document.readyState === 'complete' &&
  document.querySelectorAll('table#instances tbody tr[data-object-id]').length > 0"""


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "min_ms": round(ordered[0] * 1000, 1),
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


# -- boot ------------------------------------------------------------------------------


def boot(nova: httpx.Client, image: str, wanted: int, batch: int, timeout: float) -> None:
    """Create servers until the project has ``wanted``, all ACTIVE."""
    have = _count(nova)
    print(f"project has {have} servers; wants {wanted}", flush=True)
    if have < wanted:
        flavor = min(
            nova.get("/flavors/detail").json()["flavors"], key=lambda f: (f["vcpus"], f["ram"])
        )
    start = time.monotonic()
    while have < wanted:
        count = min(batch, wanted - have)
        body = {
            "server": {
                "name": f"{PREFIX}-{have:04d}",
                "flavorRef": flavor["id"],
                "imageRef": image,
                "networks": "none",
                "min_count": count,
                "max_count": count,
            }
        }
        answer = nova.post("/servers", json=body)
        if answer.status_code != 202:
            raise SystemExit(f"boot failed: {answer.status_code} {answer.text}")
        have += count
        print(f"  asked for {have}", flush=True)
    _await_active(nova, wanted, start + timeout)
    print(f"boot: {have} servers ACTIVE after {time.monotonic() - start:.1f} s", flush=True)


def _image_id(glance: str, token: str) -> str:
    params = {"status": "active", "limit": 1}
    images = httpx.get(glance + "/v2/images", params=params, headers={"X-Auth-Token": token})
    found = images.json().get("images", [])
    if not found:
        raise SystemExit("no active image to boot from")
    return str(found[0]["id"])


def _count(nova: httpx.Client) -> int:
    count, marker = 0, None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if marker:
            params["marker"] = marker
        servers = nova.get("/servers", params=params).json()["servers"]
        count += len(servers)
        if len(servers) < 1000:
            return count
        marker = servers[-1]["id"]


def _await_active(nova: httpx.Client, wanted: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        busy = 0
        for status in ("BUILD", "ERROR"):
            found = nova.get("/servers", params={"status": status, "limit": 1000}).json()
            if status == "ERROR" and found["servers"]:
                raise SystemExit(f"{len(found['servers'])} servers in ERROR")
            busy += len(found["servers"])
        if busy == 0:
            return
        time.sleep(2)
    raise SystemExit("servers did not all become ACTIVE in time")


# -- first byte --------------------------------------------------------------------------


def first_byte(url: str, path: str, cookies: dict[str, str], repeat: int) -> dict[str, Any]:
    """Time a GET to the status line (first byte) and to the end of its body."""
    parts = urlsplit(url)
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    firsts: list[float] = []
    totals: list[float] = []
    size = 0
    for _ in range(repeat):
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=60)
        conn.connect()
        begin = time.perf_counter()
        conn.request("GET", path, headers={"Cookie": cookie, "Accept": "application/json"})
        response = conn.getresponse()
        firsts.append(time.perf_counter() - begin)
        body = response.read()
        totals.append(time.perf_counter() - begin)
        size = len(body)
        if response.status != 200:
            raise SystemExit(f"GET {path}: {response.status} {body[:300]!r}")
        conn.close()
    return {"path": path, "bytes": size, "first_byte": _stats(firsts), "total": _stats(totals)}


# -- browser -----------------------------------------------------------------------------


def skyline_login(context: Any, url: str, creds: Any) -> None:
    body = {
        "username": creds.username,
        "password": creds.password,
        "domain": creds.user_domain,
        "region": None,
    }
    answer = context.request.post(url + API + "/login", data=json.dumps(body),
                                  headers={"Content-Type": "application/json"})  # fmt: skip
    if answer.status != 200:
        raise SystemExit(f"Skyline login: {answer.status} {answer.text()}")


def render(page: Any, url: str, ready: str, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        begin = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(ready, polling=20, timeout=60000)
        samples.append(time.perf_counter() - begin)
    return samples


def skyline(browser: Any, args: argparse.Namespace, creds: Any) -> tuple[Any, dict[str, Any]]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    skyline_login(context, args.dashboard_url, creds)
    page = context.new_page()
    calls: list[str] = []
    page.on(
        "request",
        lambda r: calls.append(r.url) if "/extension/servers" in r.url else None,
    )
    samples = render(page, args.dashboard_url + "/compute/instance", SKYLINE_READY, args.repeat)
    if not calls:
        raise SystemExit("the Instances page made no extension servers request")
    path = calls[-1][len(args.dashboard_url) :]
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    rows = page.eval_on_selector_all(".ant-table-tbody tr.ant-table-row", "r => r.length")
    result = {
        "rendered": _stats(samples),
        "first_render_ms": round(samples[0] * 1000, 1),
        "rows_shown": rows,
        "list_api": first_byte(args.dashboard_url, path, cookies, args.repeat * 4),
    }
    return (context, page, cookies, path), result


def horizon(browser: Any, args: argparse.Namespace, creds: Any) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(args.horizon_url + "/auth/login/")
    page.fill("#id_username", creds.username)
    page.fill("#id_password", creds.password)
    page.click("#loginBtn")
    page.wait_for_url(lambda u: "/auth/login" not in u, timeout=90000)
    samples = render(page, args.horizon_url + "/project/instances/", HORIZON_READY, args.repeat)
    rows = page.eval_on_selector_all("table#instances tbody tr[data-object-id]", "r => r.length")
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    result = {
        "rendered": _stats(samples),
        "first_render_ms": round(samples[0] * 1000, 1),
        "rows_shown": rows,
        "page": first_byte(args.horizon_url, "/project/instances/", cookies, args.repeat),
    }
    context.close()
    return result


def _shows_shutoff(page: Any, row: str, limit: float, cli: Any = None) -> tuple[float, float]:
    """Poll the open page until ``row`` reads Shutoff: (when it did, when the CLI exited)."""
    begin = time.perf_counter()
    exited = 0.0
    while time.perf_counter() - begin < limit:
        if cli is not None and not exited and cli.poll() is not None:
            exited = time.perf_counter()
            if cli.returncode != 0:
                raise SystemExit("openstack server stop failed")
        if "Shutoff" in page.inner_text(row):
            return time.perf_counter(), exited
        time.sleep(0.02)
    raise SystemExit("the page never showed Shutoff")


def state_change(open_page: Any, args: argparse.Namespace, nova: httpx.Client) -> dict[str, Any]:
    """Stop two servers shown on the open page: one by the Compute API (timed from its
    202), one by ``openstack server stop`` (timed from launching the command, whose own
    start-up is most of it, and from its exit)."""
    context, page, cookies, path = open_page
    page.goto(args.dashboard_url + "/compute/instance", wait_until="commit")
    page.wait_for_function(SKYLINE_READY, polling=20, timeout=60000)
    listed = httpx.get(args.dashboard_url + path, cookies=cookies, timeout=60).json()["servers"]
    by_api, by_cli = [s for s in listed if s["status"] == "ACTIVE"][:2]
    rows = {s["id"]: f'.ant-table-tbody tr[data-row-key="{s["id"]}"]' for s in (by_api, by_cli)}
    if any("Shutoff" in page.inner_text(row) for row in rows.values()):
        raise SystemExit("a row already reads Shutoff")
    stopped = nova.post(f"/servers/{by_api['id']}/action", json={"os-stop": None})
    accepted = time.perf_counter()
    if stopped.status_code != 202:
        raise SystemExit(f"os-stop: {stopped.status_code} {stopped.text}")
    shown_api, _ = _shows_shutoff(page, rows[by_api["id"]], 120)
    time.sleep(1.5)  # the page settles before the next change
    argv = [args.openstack, "--os-cloud", args.os_cloud, "server", "stop", by_cli["id"]]
    begin = time.perf_counter()
    cli = subprocess.Popen(argv)
    shown_cli, exited = _shows_shutoff(page, rows[by_cli["id"]], 120, cli)
    cli.wait()
    exited = exited or time.perf_counter()
    for server in (by_api, by_cli):
        nova.post(f"/servers/{server['id']}/action", json={"os-start": None})
    return {
        "api_stop_to_shown_ms": round((shown_api - accepted) * 1000, 1),
        "cli_start_to_shown_ms": round((shown_cli - begin) * 1000, 1),
        "cli_exit_to_shown_ms": round((shown_cli - exited) * 1000, 1),
        "cli_seconds": round(exited - begin, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_auth_args(parser)
    parser.add_argument("--dashboard-url", required=True)
    parser.add_argument("--horizon-url", help="upstream Horizon against the same cloud")
    parser.add_argument("--servers", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100, help="servers per create request")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--boot-timeout", type=float, default=1800)
    parser.add_argument("--openstack", default=os.environ.get("OPENSTACK_CLI", "openstack"))
    parser.add_argument("--cleanup", action="store_true", help="delete the servers it made")
    parser.add_argument("--no-horizon", action="store_true", help="skip Horizon")
    args = parser.parse_args()
    for url in (args.dashboard_url, args.horizon_url):
        if url:
            require_loopback(url)
    args.dashboard_url = args.dashboard_url.rstrip("/")
    if args.horizon_url:
        args.horizon_url = args.horizon_url.rstrip("/")
    creds = creds_from_args(args)
    require_loopback(creds.auth_url)
    token, body = issue_token(creds)
    compute = public_endpoint(body["token"]["catalog"], "compute")
    require_loopback(compute)
    headers = {"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.79"}
    nova = httpx.Client(base_url=compute, headers=headers, timeout=120)
    glance = public_endpoint(body["token"]["catalog"], "image")
    require_loopback(glance)
    image = _image_id(glance, token)
    boot(nova, image, args.servers, args.batch, args.boot_timeout)

    from playwright.sync_api import sync_playwright

    report: dict[str, Any] = {"servers": _count(nova), "load": os.getloadavg()}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            open_page, report["skyline"] = skyline(browser, args, creds)
            print(json.dumps(report, indent=1), flush=True)
            if args.horizon_url and not args.no_horizon:
                report["horizon"] = horizon(browser, args, creds)
                print(json.dumps(report["horizon"], indent=1), flush=True)
            report["state_change"] = state_change(open_page, args, nova)
        finally:
            browser.close()
    report["load_after"] = os.getloadavg()
    print(json.dumps(report, indent=1))
    if args.cleanup:
        for server in nova.get("/servers", params={"limit": 10000}).json()["servers"]:
            if server["name"].startswith(PREFIX):
                nova.delete(f"/servers/{server['id']}")


if __name__ == "__main__":
    main()
