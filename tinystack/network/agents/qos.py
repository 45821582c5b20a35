"""QoS bandwidth limits of ports on their taps (the L2 agent's QoS extension).

Directions are the guest's. ``ingress`` (towards the guest) leaves the host through the
tap: a ``tbf`` root qdisc on the tap (``tc qdisc replace``, so applying twice changes
nothing). ``egress`` (from the guest) enters the host through the tap; upstream polices
it with a ``tc`` ingress qdisc and a ``police`` action, which needs the kernel's
``act_police``. Kernels without tc actions (this project's test VMs have no modules)
cannot do that, so egress is policed where frames enter the bridge instead: an
nftables ``bridge`` table the agent owns whole, ``<chain prefix>_qos``, one
``limit rate over ... drop`` rule per limited tap, replaced atomically (one ``nft -f``)
only when its rules change. A burst of 0 means upstream's default, 80 % of the rate.
nft's bucket holds one second of the rate plus its ``burst``, so the rule's burst is what
the requested bucket exceeds a second of rate by (a bucket is never smaller than that).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tinystack.network.agents.ip_lib import check_name, execute
from tinystack.network.payloads import QosLimits

#: after the ARP anti-spoofing table (-300): spoofed frames never use up the budget
PRIORITY = -250
DEFAULT_BURST_RATE = 0.8
LATENCY_MS = 50


def table_name(prefix: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", prefix.rstrip("-")) + "_qos"


def burst_kbit(rate_kbps: int, burst_kbps: int) -> int:
    return burst_kbps or max(int(rate_kbps * DEFAULT_BURST_RATE), 1)


def set_ingress(namespace: str | None, dev: str, limits: QosLimits) -> None:
    """The tap's ``tbf`` root qdisc for the ingress limit, or none."""
    check_name(dev)
    current = execute(["tc", "qdisc", "show", "dev", dev, "root"], namespace=namespace)
    if not limits.ingress_kbps:
        if "qdisc tbf" in current:
            execute(["tc", "qdisc", "del", "dev", dev, "root"], namespace=namespace, check=False)
        return
    rate = limits.ingress_kbps
    burst = max(burst_kbit(rate, limits.ingress_burst_kbps) // 8, 2)
    wanted = [
        *("tc", "qdisc", "replace", "dev", dev, "root", "tbf"),
        *("rate", f"{rate}kbit", "burst", f"{burst}kb", "latency", f"{LATENCY_MS}ms"),
    ]
    execute(wanted, namespace=namespace)


def render(table: str, limits: Mapping[str, QosLimits]) -> str:
    """The nft script that makes ``bridge <table>`` police exactly the egress limits."""
    rules = []
    for dev in sorted(limits):
        rate = limits[dev].egress_kbps
        if not rate:
            continue
        per_second = max(rate // 8, 1)
        extra = burst_kbit(rate, limits[dev].egress_burst_kbps) // 8 - per_second
        burst = f" burst {extra} kbytes" if extra > 0 else ""
        rules.append(
            f'iifname "{check_name(dev)}" limit rate over {per_second} kbytes/second{burst} drop'
        )
    body = "".join(f"\t\t{rule}\n" for rule in rules)
    return (
        f"table bridge {table}\n"
        f"delete table bridge {table}\n"
        f"table bridge {table} {{\n"
        f"\tchain egress {{\n"
        f"\t\ttype filter hook prerouting priority {PRIORITY}; policy accept;\n"
        f"{body}"
        f"\t}}\n"
        f"}}\n"
    )


def apply(namespace: str | None, script: str) -> None:
    execute(["nft", "-f", "-"], namespace=namespace, input=script)


def remove(namespace: str | None, table: str) -> None:
    script = f"table bridge {table}\ndelete table bridge {table}\n"
    execute(["nft", "-f", "-"], namespace=namespace, input=script, check=False)
