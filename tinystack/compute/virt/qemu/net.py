"""Tap devices: one per port, ``tap<port_id[:11]>``, handed to the network data plane.

The driver only creates the tap (persistent, up) and gives it to QEMU; the L2 agent
of the network service sees it appear and plugs it into the port's bridge. The
guest's NIC carries the port's MAC; the tap itself gets the same MAC with ``fe`` as
first octet (as libvirt does), so the bridge never takes the guest's address for one
of its own ports. Nothing here touches bridges or the host's uplink.

Every function takes an optional ``namespace``: a host simulated in a network namespace
(``[compute] host_namespace``) has its taps there, handled with ``ip -n <namespace>``, and
its QEMUs run there (:func:`in_namespace`), since QEMU attaches a tap by name in its own
namespace.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tinystack.compute.virt.driver import DriverError

PREFIX = "tap"
#: where ``ip netns add`` keeps named network namespaces
NETNS_DIR = Path("/run/netns")


def tap_name(port_id: str) -> str:
    return PREFIX + port_id[:11]


def tap_mac(guest_mac: str) -> str:
    parts = guest_mac.lower().split(":")
    if len(parts) != 6:
        raise DriverError(f"bad MAC address {guest_mac!r}")
    return ":".join(["fe", *parts[1:]])


def _ip(*args: str, namespace: str = "", check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["ip", *(["-n", namespace] if namespace else []), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DriverError(f"{' '.join(cmd)} failed: {exc}") from exc
    if check and proc.returncode != 0:
        raise DriverError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")
    return proc


def namespace_exists(namespace: str) -> bool:
    """Is there a named network namespace ``namespace`` (``ip netns add``)?"""
    return bool(namespace) and (NETNS_DIR / namespace).exists()


def check_namespace(namespace: str) -> None:
    """Fail unless ``namespace`` is empty (the root namespace) or exists."""
    if namespace and not namespace_exists(namespace):
        raise DriverError(f"network namespace {namespace} does not exist")


def in_namespace(cmd: list[str], namespace: str = "") -> list[str]:
    """``cmd`` run inside ``namespace`` (``ip netns exec``); unchanged for the root one."""
    return ["ip", "netns", "exec", namespace, *cmd] if namespace else list(cmd)


def _address(name: str, namespace: str) -> str:
    """The device's MAC address, "" when it cannot be read."""
    if not namespace:
        try:
            return Path("/sys/class/net", name, "address").read_text().strip()
        except OSError:
            return ""
    proc = _ip("-j", "link", "show", "dev", name, namespace=namespace, check=False)
    try:
        return str(json.loads(proc.stdout)[0].get("address") or "") if proc.returncode == 0 else ""
    except (ValueError, IndexError, AttributeError):
        return ""


def exists(name: str, namespace: str = "") -> bool:
    """Does device ``name`` exist in ``namespace`` (empty: this process's)?"""
    if not namespace:
        # /sys/class/net is the root namespace's (this process's) view
        return Path("/sys/class/net", name).exists()
    return _ip("link", "show", "dev", name, namespace=namespace, check=False).returncode == 0


def ensure_tap(name: str, guest_mac: str, namespace: str = "") -> None:
    """Create the tap (in ``namespace``) if it is missing, give it its MAC and bring it up."""
    check_namespace(namespace)
    if not exists(name, namespace):
        proc = _ip("tuntap", "add", "dev", name, "mode", "tap", namespace=namespace, check=False)
        if proc.returncode != 0 and not exists(name, namespace):
            raise DriverError(f"cannot create tap {name}: {proc.stderr.strip()}")
    mac = tap_mac(guest_mac)
    if _address(name, namespace) != mac:
        _ip("link", "set", "dev", name, "address", mac, namespace=namespace)
    _ip("link", "set", "dev", name, "up", namespace=namespace)


def delete_tap(name: str, namespace: str = "") -> None:
    """Delete the tap (in ``namespace``) if it exists; a missing namespace has none."""
    if namespace and not namespace_exists(namespace):
        return
    if exists(name, namespace):
        proc = _ip("link", "del", "dev", name, namespace=namespace, check=False)
        if proc.returncode != 0 and exists(name, namespace):
            raise DriverError(f"cannot delete tap {name}: {proc.stderr.strip()}")
