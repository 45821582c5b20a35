"""Fake guests and hosts for the data plane tests: network namespaces with veth "taps".

A fake guest is a namespace whose ``eth0`` is the far end of a veth pair; the near end
is named like the tap QEMU would create for the port (``tap<port_id[:11]>``), in the
host's namespace (the root one, or a simulated host's). Every name starts with the
test run's tag so that cleanup can find everything, and everything is removed even
when a test fails.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tinystack.network.agents import arp_protect, qos
from tinystack.network.agents.iptables import ChainSet

UDHCPC_SCRIPT = textwrap.dedent(
    """\
    #!/bin/sh
    # udhcpc event script: configure eth0 and record what the server offered.
    case "$1" in
      deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
      bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/$mask" dev "$interface"
        [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
        for r in $router; do ip route replace default via "$r" dev "$interface"; done
        printf 'ip=%s\nmask=%s\nrouter=%s\nmtu=%s\ndns=%s\nhostname=%s\nstaticroutes=%s\n' \
          "$ip" "$mask" "$router" "$mtu" "$dns" "$hostname" "$staticroutes" > "$LEASE_INFO"
        ;;
    esac
    exit 0
    """
)


def run(cmd: list[str], check: bool = True, timeout: float = 30, **kw: Any) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.returncode} {proc.stderr.strip()}")
    return str(proc.stdout)


def in_ns(ns: str, *cmd: str, check: bool = True, timeout: float = 30) -> str:
    return run(["ip", "netns", "exec", ns, *cmd], check=check, timeout=timeout)


#: how many times its nominal timeout a wait may take before it gives up: the suite runs on
#: four xdist workers on two cores, where an agent's sync can lag well behind a quiet run's
#: (a wait returns as soon as its condition holds, so only a failing wait pays for it)
PATIENCE = float(os.environ.get("TINYSTACK_TEST_PATIENCE", "3"))


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = 10,
    interval: float = 0.05,
    *,
    patience: float = PATIENCE,
) -> Any:
    """The predicate's first true value, or its last value once ``timeout`` times
    ``patience`` has passed (``patience=1`` for a wait that must see nothing happen)."""
    deadline = time.monotonic() + timeout * patience
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


def _busybox(name: str) -> bool:
    path = shutil.which(name)
    return bool(path) and os.path.realpath(str(path)).endswith("busybox")


def tools_missing() -> list[str]:
    need = ["ip", "bridge", "iptables-restore", "ip6tables-restore", "busybox"]
    return [t for t in need if shutil.which(t) is None]


class Namespace:
    """A namespace this test made (removed with everything in it by :meth:`destroy`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.procs: list[subprocess.Popen[bytes]] = []
        run(["ip", "netns", "add", name])
        run(["ip", "-n", name, "link", "set", "lo", "up"])

    def sh(self, *cmd: str, check: bool = True, timeout: float = 30) -> str:
        return in_ns(self.name, *cmd, check=check, timeout=timeout)

    def spawn(self, *cmd: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.name, *cmd],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        return proc

    def ping(self, address: str, count: int = 1, wait: float = 1) -> bool:
        if shutil.which("ping") and not _busybox("ping"):
            cmd = ["ping", "-n", "-c", str(count), "-W", str(wait), address]
        else:  # busybox ping waits whole seconds
            cmd = ["busybox", "ping", "-c", str(count), "-W", str(math.ceil(wait)), address]
        proc = subprocess.run(
            ["ip", "netns", "exec", self.name, *cmd],
            capture_output=True,
            timeout=count * wait + 10,
        )
        return proc.returncode == 0

    def eventually_pings(self, address: str, timeout: float = 10, wait: float = 0.5) -> bool:
        return bool(wait_for(lambda: self.ping(address, wait=wait), timeout, 0.0))

    def tcp(self, address: str, port: int, payload: str = "hello") -> str | None:
        """Send a line to address:port and return what came back (None: no connection)."""
        code = (
            "import socket,sys\n"
            "s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2)\n"
            "s.sendall(sys.argv[3].encode()+b'\\n')\n"
            "print(s.recv(200).decode().strip())\n"
        )
        proc = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.name,
                sys.executable,
                "-c",
                code,
                address,
                str(port),
                payload,
            ],
            capture_output=True,
            text=True,
            timeout=15,
        )
        return proc.stdout.strip() if proc.returncode == 0 else None

    def serve_tcp(self, port: int) -> None:
        """A TCP server answering each line with ``<peer address> <line>``."""
        code = (
            "import socketserver,sys\n"
            "class H(socketserver.StreamRequestHandler):\n"
            "    def handle(self):\n"
            "        line=self.rfile.readline().decode().strip()\n"
            "        self.wfile.write(f'{self.client_address[0]} {line}\\n'.encode())\n"
            "socketserver.ThreadingTCPServer.allow_reuse_address=True\n"
            "socketserver.ThreadingTCPServer(('0.0.0.0',int(sys.argv[1])),H).serve_forever()\n"
        )
        self.spawn(sys.executable, "-c", code, str(port))
        wait_for(lambda: f":{port}" in self.sh("ss", "-ltn", check=False), 5)

    def destroy(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs = []
        run(["ip", "netns", "delete", self.name], check=False)


class Guest(Namespace):
    """A fake guest of ``port``: its eth0 is a veth whose host end is ``tap<port[:11]>``."""

    def __init__(self, name: str, port: dict[str, Any], host_ns: str | None = None) -> None:
        super().__init__(name)
        self.port = port
        self.tap = "tap" + port["id"][:11]
        self.host_ns = host_ns
        self.lease_info = Path(f"/tmp/{name}.lease")
        host = ["-n", host_ns] if host_ns else []
        run(
            [
                "ip",
                *host,
                "link",
                "add",
                self.tap,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "address",
                port["mac_address"],
                "netns",
                name,
            ]
        )
        run(["ip", *host, "link", "set", self.tap, "up"])
        self.sh("ip", "link", "set", "eth0", "up")

    @property
    def fixed_ip(self) -> str:
        return str(self.port["fixed_ips"][0]["ip_address"])

    def dhcp(self, timeout: float = 20) -> dict[str, str]:
        """Run udhcpc once; what the server offered (empty if nothing)."""
        script = Path(f"/tmp/{self.name}.udhcpc")
        script.write_text(UDHCPC_SCRIPT)
        script.chmod(0o755)
        self.lease_info.unlink(missing_ok=True)
        env = {**os.environ, "LEASE_INFO": str(self.lease_info)}
        subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                self.name,
                "busybox",
                "udhcpc",
                "-i",
                "eth0",
                "-n",
                "-q",
                "-f",
                "-t",
                str(int(timeout)),
                "-T",
                "1",
                "-A",
                "1",
                "-s",
                str(script),
                "-O",
                "mtu",
                "-O",
                "staticroutes",
                "-x",
                f"hostname:{self.name}",
            ],
            capture_output=True,
            timeout=timeout + 10,
            env=env,
        )
        script.unlink(missing_ok=True)
        if not self.lease_info.exists():
            return {}
        text = self.lease_info.read_text().strip()
        self.lease_info.unlink(missing_ok=True)
        out = {}
        for line in text.splitlines():
            key, _, value = line.partition("=")
            out[key] = value.strip()
        return out

    def lookup(self, name: str, server: str) -> list[str]:
        """The addresses ``server`` answers for ``name`` (busybox nslookup; none: empty)."""
        out = self.sh("busybox", "nslookup", name, server, check=False, timeout=15)
        answer = out.split("Name:", 1)[1] if "Name:" in out else ""
        return re.findall(r"Address(?: \d+)?:\s+(\S+)", answer)

    def static(self, cidr: str, gateway: str | None) -> None:
        self.sh("ip", "addr", "replace", cidr, "dev", "eth0")
        if gateway:
            self.sh("ip", "route", "replace", "default", "via", gateway)


def cleanup_tagged(tag: str) -> list[str]:
    """Remove every namespace, link and chain whose name holds ``tag``; what was left."""
    left = []
    for ns in sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []:
        if tag in ns:
            left.append(f"netns {ns}")
            for pid in run(["ip", "netns", "pids", ns], check=False).split():
                try:
                    os.kill(int(pid), 9)
                except (ValueError, OSError):
                    pass
            run(["ip", "netns", "delete", ns], check=False)
    for link in sorted(os.listdir("/sys/class/net")):
        if tag in link:
            left.append(f"link {link}")
            run(["ip", "link", "delete", link], check=False)
    return left


def bridge_tables(chain_prefix: str) -> list[str]:
    """The nftables bridge tables an L2 agent with this chain prefix owns (ARP
    protection, egress QoS)."""
    return [arp_protect.table_name(chain_prefix), qos.table_name(chain_prefix)]


def remove_agent_leftovers(chain_prefix: str) -> None:
    """Remove what an L2 agent with this chain prefix keeps on the host: its iptables
    chains (ports and networks), its nftables bridge tables and the veths into its
    physnet bridges (named by the prefix, which the test tags' lower case does not
    match); for clouds that stop without cleaning up, or did not stop."""
    for prefix in (chain_prefix, chain_prefix + "N"):
        ChainSet(prefix).remove_all()
    if arp_protect.available():
        for table in bridge_tables(chain_prefix):
            run(["nft", "delete", "table", "bridge", table], check=False)
    for link in os.listdir("/sys/class/net"):
        if link.startswith(chain_prefix):
            run(["ip", "link", "delete", link], check=False)


class FakeMetadata:
    """A compute metadata API stand-in that echoes the headers it got."""

    def __init__(self) -> None:
        seen: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
                body = json.dumps({"path": self.path, "instance": self.headers["X-Instance-ID"]})
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.seen = seen
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
