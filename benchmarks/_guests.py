"""Fake guests for the data plane benchmarks, plugged as Nova plugs a guest: a port bound to
the L2 agent's host, and a namespace holding the far end of a veth whose host end is named
``tap<port id[:11]>`` (the agent wires that tap into the network's bridge). Ports carry no
port security (no anti-spoofing or security group chains in the measured path).

:class:`Guests` owns everything it makes (API objects, namespaces, processes) and removes
all of it in :meth:`Guests.close`, which the benchmarks call from a ``finally``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from types import FrameType
from typing import Any

from network import Neutron
from network_dataplane import sh, wait_for


@dataclass
class Guest:
    namespace: str
    address: str
    port: dict[str, Any]

    @property
    def tap(self) -> str:
        return "tap" + str(self.port["id"])[:11]


class Guests:
    def __init__(self, api: Neutron, host: str, name: str) -> None:
        self.api = api
        self.host = host
        self.name = name
        self.made: list[str] = []  # API paths, deleted last first
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen[bytes]] = []

    def create(self, kind: str, path: str, **body: Any) -> dict[str, Any]:
        found: dict[str, Any] = self.api.call("POST", f"/{path}", {kind: body}, ok=(201,))[kind]
        self.made.append(f"/{path}/{found['id']}")
        return found

    def network(self, cidr: str) -> tuple[dict[str, Any], dict[str, Any]]:
        net = self.create("network", "networks", name=self.name)
        subnet = self.create("subnet", "subnets", name=self.name, network_id=net["id"],
                             cidr=cidr, ip_version=4, enable_dhcp=False)  # fmt: skip
        return net, subnet

    def guest(
        self, suffix: str, net: dict[str, Any], subnet: dict[str, Any], routed: bool = False
    ) -> Guest:
        """A fake guest on the network, with its address and the network's MTU (and a
        default route via the subnet's gateway when ``routed``); returned once the API
        shows its port ACTIVE (bridged by the agent)."""
        port = self.create(
            "port",
            "ports",
            name=self.name,
            network_id=net["id"],
            device_owner="compute:nova",
            device_id=str(uuid.uuid4()),
            port_security_enabled=False,
            **{"binding:host_id": self.host},
        )
        ns = f"{self.name}-{suffix}"
        sh("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        guest = Guest(ns, str(port["fixed_ips"][0]["ip_address"]), port)
        mtu = str(net.get("mtu") or 1500)
        sh("ip", "link", "add", guest.tap, "mtu", mtu, "type", "veth", "peer", "name", "eth0",
           "mtu", mtu, "address", port["mac_address"], "netns", ns)  # fmt: skip
        sh("ip", "link", "set", guest.tap, "up")
        prefix = str(subnet["cidr"]).split("/")[1]
        for cmd in (
            ["ip", "link", "set", "lo", "up"],
            ["ip", "link", "set", "eth0", "up"],
            ["ip", "addr", "add", f"{guest.address}/{prefix}", "dev", "eth0"],
            *([["ip", "route", "add", "default", "via", subnet["gateway_ip"]]] if routed else []),
        ):
            sh("ip", "netns", "exec", ns, *cmd)
        if not wait_for(lambda: self.status(port["id"]) == "ACTIVE", 30, 0.05):
            raise SystemExit(f"port {port['id']} not ACTIVE in 30 s")
        return guest

    def status(self, port_id: str) -> str:
        return str(self.api.call("GET", f"/ports/{port_id}")["port"]["status"])

    def spawn(self, guest: Guest, *cmd: str) -> subprocess.Popen[bytes]:
        """A process in the guest (``ip netns exec`` execs it: the pid is the command's)."""
        proc = subprocess.Popen(
            ["ip", "netns", "exec", guest.namespace, *cmd],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.procs.append(proc)
        return proc

    def serving(self, guest: Guest, port: int, proc: subprocess.Popen[bytes]) -> None:
        """Wait until ``proc`` listens on the guest's address and ``port``."""
        bound = f"{guest.address}:{port} "
        if not wait_for(lambda: bound in self.run(guest, "ss", "-ltnH"), 10, 0.05):
            raise SystemExit(f"nothing listens on {bound}in {guest.namespace} (exit {proc.poll()})")

    def run(self, guest: Guest, *cmd: str, timeout: float = 60) -> str:
        return subprocess.run(
            ["ip", "netns", "exec", guest.namespace, *cmd],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
        ).stdout

    def close(self) -> None:
        """Stop the processes (by pid), delete the namespaces, then the API objects."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
        for path in reversed(self.made):
            try:
                self.api.call("DELETE", path, ok=(204, 404))
            except SystemExit as exc:  # report it, and go on removing the rest
                print(f"left behind: {exc}", file=sys.stderr)


def exit_on_sigterm() -> None:
    """SIGTERM (a timeout's kill) unwinds like Ctrl-C, so ``finally`` clean-ups run."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
