"""The load balancer's namespace and its VIP port, plugged like the network agents plug
theirs: a veth whose host end is ``tap<port[:11]>`` (the L2 agent wires it into the
network's bridge, as it does a guest's tap or a DHCP port) and whose other end, in the
namespace, carries the VIP's MAC and address and a default route to the subnet's gateway."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tinystack.load_balancer.specs import LoadBalancerSpec


class PlumbingError(RuntimeError):
    pass


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if check and proc.returncode != 0:
        raise PlumbingError(f"ip {' '.join(args)}: {proc.stderr.strip()}")
    return proc


def namespaces() -> set[str]:
    found = _ip("netns", "list", check=False).stdout.split("\n")
    return {line.split(" ")[0] for line in found if line.strip()}


def devices(port_id: str) -> tuple[str, str]:
    """(host end, namespace end) of the VIP port's veth."""
    return "tap" + port_id[:11], "lb-" + port_id[:11]


def plug(namespace: str, spec: LoadBalancerSpec) -> None:
    """Make the namespace, its VIP interface, address and route (idempotent)."""
    if namespace not in namespaces():
        _ip("netns", "add", namespace)
        _ip("-n", namespace, "link", "set", "lo", "up")
    tap, dev = devices(spec.vip_port_id)
    if _ip("-n", namespace, "link", "show", dev, check=False).returncode != 0:
        _ip("link", "delete", tap, check=False)
        _ip(
            "link",
            "add",
            tap,
            "mtu",
            str(spec.vip_mtu),
            "type",
            "veth",
            "peer",
            "name",
            dev,
            "mtu",
            str(spec.vip_mtu),
            "address",
            spec.vip_mac,
            "netns",
            namespace,
        )
        disable = Path(f"/proc/sys/net/ipv6/conf/{tap}/disable_ipv6")
        if disable.exists():
            disable.write_text("1")
        _ip("link", "set", tap, "up")
        _ip("-n", namespace, "link", "set", dev, "up")
    address = f"{spec.vip_address}/{spec.vip_prefixlen}"
    shown = _ip("-n", namespace, "-o", "addr", "show", "dev", dev).stdout
    if f" {address} " not in shown:
        _ip("-n", namespace, "addr", "replace", address, "dev", dev)
    if spec.vip_gateway:
        _ip("-n", namespace, "route", "replace", "default", "via", spec.vip_gateway)


def unplug(namespace: str, port_id: str) -> None:
    """Remove the VIP interface and the namespace (what is already gone is fine)."""
    tap, _ = devices(port_id)
    _ip("link", "delete", tap, check=False)
    if namespace in namespaces():
        _ip("netns", "delete", namespace, check=False)
