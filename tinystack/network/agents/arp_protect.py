"""ARP and MAC anti-spoofing on the bridges (as Neutron's linuxbridge ``arp_protect``).

The iptables chains check the source IP and MAC of IP packets; ARP is not IP, so a
guest could answer ARP for another guest's address (or the router's) and take its
traffic. Here every frame a filtered port's tap sends into its bridge must come from
the port's MAC (or an allowed address pair's), and its ARP packets must name one of the
port's IPv4 addresses (fixed IPs, allowed address pairs, or 0.0.0.0 for RFC 5227
probes) and one of those MACs as the sender.

The rules live in an nftables table of the ``bridge`` family that the agent owns whole,
``<chain prefix>_arp``, on a ``prerouting`` hook; each update replaces it atomically
with one ``nft -f -`` (``table`` / ``delete table`` / the new table, one transaction).
Ports of network devices and ports without port security are not listed. Without the
``nft`` program (package nftables) the agent logs a warning and ARP goes unchecked.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
from collections.abc import Iterable

from tinystack.network.agents.firewall import FilteredPort
from tinystack.network.agents.ip_lib import check_name, execute

#: frames from guests are checked before anything else on the bridge sees them
PRIORITY = -300


def available() -> bool:
    return shutil.which("nft") is not None


def table_name(prefix: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", prefix.rstrip("-")) + "_arp"


def _macs(port: FilteredPort) -> list[str]:
    macs = [port.mac.lower()]
    macs += [p.mac_address.lower() for p in port.allowed_address_pairs if p.mac_address]
    return sorted(set(macs))


def _ipv4(port: FilteredPort) -> list[str]:
    nets = {ipaddress.ip_network("0.0.0.0/32"), *port.networks(4)}
    return [str(n.network_address) if n.num_addresses == 1 else str(n) for n in sorted(nets)]


def render(table: str, ports: Iterable[FilteredPort]) -> str:
    """The nft script that makes ``bridge <table>`` hold exactly the rules of ``ports``."""
    rules: list[str] = []
    for port in sorted(ports, key=lambda p: p.device):
        if not port.filtered or not port.mac:
            continue
        dev = check_name(port.device)
        macs = ", ".join(_macs(port))
        ips = ", ".join(_ipv4(port))
        rules += [
            f'iifname "{dev}" ether saddr != {{ {macs} }} drop',
            f'iifname "{dev}" ether type arp arp saddr ether != {{ {macs} }} drop',
            f'iifname "{dev}" ether type arp arp saddr ip != {{ {ips} }} drop',
        ]
    body = "".join(f"\t\t{rule}\n" for rule in rules)
    return (
        f"table bridge {table}\n"
        f"delete table bridge {table}\n"
        f"table bridge {table} {{\n"
        f"\tchain guests {{\n"
        f"\t\ttype filter hook prerouting priority {PRIORITY}; policy accept;\n"
        f"{body}"
        f"\t}}\n"
        f"}}\n"
    )


def apply(namespace: str | None, table: str, ports: Iterable[FilteredPort]) -> None:
    execute(["nft", "-f", "-"], namespace=namespace, input=render(table, ports))


def remove(namespace: str | None, table: str) -> None:
    script = f"table bridge {table}\ndelete table bridge {table}\n"
    execute(["nft", "-f", "-"], namespace=namespace, input=script, check=False)
