"""Start-up time and memory of `tinystack up`: fresh state and restart, to a healthy identity API.

    python benchmarks/startup.py [--services identity] [--runs 5]

Measures Popen -> first 200 on GET /v3 and -> first issued token, for a first start (empty state
directory: keys, migrations, bootstrap with bcrypt cost 12) and for restarts; then the RSS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, started: float, timeout: float = 60) -> float:
    while time.monotonic() - started < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.01)
    raise TimeoutError(url)


def _token(auth_url: str, password: str) -> None:
    body = json.dumps(
        {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {"name": "admin", "domain": {"id": "default"}, "password": password}
                    },
                },
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
            }
        }
    ).encode()
    req = urllib.request.Request(
        f"{auth_url}/auth/tokens", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201


def one_start(state: Path, conf: Path, auth_url: str) -> tuple[float, float, int]:
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(BIN / "tinystack"), "up", "--config-file", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        healthy = _wait(auth_url, started)
        while not (state / "secrets.json").exists():
            time.sleep(0.01)
        password = json.loads((state / "secrets.json").read_text())["admin"]
        while True:
            try:
                _token(auth_url, password)
                break
            except OSError:
                time.sleep(0.01)
        first_token = time.monotonic() - started
        rss = int(open(f"/proc/{proc.pid}/status").read().split("VmRSS:")[1].split()[0])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    return healthy, first_token, rss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", default="identity")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    fresh, restart = [], []
    for _ in range(args.runs):
        state = Path(tempfile.mkdtemp(prefix="ts-startup-"))
        port = _port()
        conf = state / "tinystack.conf"
        conf.write_text(
            f"[DEFAULT]\nstate_dir = {state}\nenabled_services = {args.services}\n"
            f"[identity]\nport = {port}\n"
        )
        auth_url = f"http://127.0.0.1:{port}/v3"
        fresh.append(one_start(state, conf, auth_url))
        restart.append(one_start(state, conf, auth_url))
        shutil.rmtree(state)
    for label, runs in (("first start", fresh), ("restart", restart)):
        healthy = statistics.median(r[0] for r in runs)
        token = statistics.median(r[1] for r in runs)
        rss = statistics.median(r[2] for r in runs)
        print(
            f"{label:<12} healthy {healthy:.2f}s  first token {token:.2f}s  RSS {rss:.0f} MiB "
            f"(median of {len(runs)}; services {args.services})"
        )


if __name__ == "__main__":
    main()
