"""Router advertisements of a router namespace: radvd, as Neutron's ``agent/linux/ra.py``.

One radvd per router runs inside ``qrouter-<router>`` (``radvd -n -C <dir>/radvd.conf
-p <dir>/radvd-daemon.pid``, started with ``ip netns exec`` and tracked by its pid like the
metadata proxy), advertising on each ``qr-`` interface the IPv6 subnets whose
``ipv6_ra_mode`` is set:

* ``slaac`` and ``dhcpv6-stateless``: the prefix with the autonomous flag (A=1);
  stateless also sets the other-configuration flag (O=1);
* ``dhcpv6-stateful``: the prefix without the autonomous flag (A=0), with the managed
  and other-configuration flags (M=1, O=1).

The router is always a default router (``AdvDefaultLifetime`` > 0); the subnets' IPv6
DNS servers go out as RDNSS. A changed configuration is reloaded with SIGHUP; no
interface to advertise on stops radvd.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import signal
from dataclasses import dataclass, field
from pathlib import Path

from tinystack.network.agents import ip_lib
from tinystack.network.agents.base import write_if_changed
from tinystack.network.payloads import Subnet

LOG = logging.getLogger(__name__)
SLAAC, STATELESS, STATEFUL = "slaac", "dhcpv6-stateless", "dhcpv6-stateful"
#: upstream's min_rtr_adv_interval / max_rtr_adv_interval defaults
MIN_INTERVAL = 30
MAX_INTERVAL = 100
DEFAULT_LIFETIME = 3 * MAX_INTERVAL
MAX_RDNSS = 3


def available() -> bool:
    return shutil.which("radvd") is not None


@dataclass
class RaInterface:
    """A ``qr-`` device and the IPv6 subnets (with ``ipv6_ra_mode``) advertised on it."""

    device: str
    mtu: int = 1500
    subnets: list[Subnet] = field(default_factory=list)


def ra_subnets(subnets: list[Subnet]) -> list[Subnet]:
    """The IPv6 subnets of an interface that want router advertisements."""
    return [
        s
        for s in subnets
        if s.ip_version == 6
        and s.ipv6_ra_mode in (SLAAC, STATELESS, STATEFUL)
        and ipaddress.ip_network(s.cidr).prefixlen <= 64
    ]


def render(interfaces: list[RaInterface]) -> str:
    """radvd.conf for ``interfaces`` (those without subnets to advertise are left out)."""
    blocks = []
    for iface in sorted(interfaces, key=lambda i: i.device):
        subnets = sorted(ra_subnets(iface.subnets), key=lambda s: s.cidr)
        if not subnets:
            continue
        modes = {s.ipv6_ra_mode for s in subnets}
        lines = [
            f"interface {ip_lib.check_name(iface.device)}",
            "{",
            "    AdvSendAdvert on;",
            f"    MinRtrAdvInterval {MIN_INTERVAL};",
            f"    MaxRtrAdvInterval {MAX_INTERVAL};",
            f"    AdvDefaultLifetime {DEFAULT_LIFETIME};",
            f"    AdvLinkMTU {int(iface.mtu)};",
            f"    AdvManagedFlag {'on' if STATEFUL in modes else 'off'};",
            f"    AdvOtherConfigFlag {'on' if modes & {STATEFUL, STATELESS} else 'off'};",
        ]
        dns: list[str] = []
        for subnet in subnets:
            for server in subnet.dns_nameservers:
                if ipaddress.ip_address(server).version == 6 and server not in dns:
                    dns.append(str(ipaddress.ip_address(server)))
        if dns:
            lines.append(f"    RDNSS {' '.join(dns[:MAX_RDNSS])} {{}};")
        for subnet in subnets:
            autonomous = "off" if subnet.ipv6_ra_mode == STATEFUL else "on"
            lines += [
                f"    prefix {ipaddress.ip_network(subnet.cidr)}",
                "    {",
                "        AdvOnLink on;",
                f"        AdvAutonomous {autonomous};",
                "    };",
            ]
        lines.append("};")
        blocks.append("\n".join(lines) + "\n")
    return "".join(blocks)


class Radvd:
    """The radvd of one router namespace: its files, start/reload/stop by pid file."""

    def __init__(self, directory: Path, namespace: str) -> None:
        self.dir = directory
        self.namespace = namespace
        self.conf = directory / "radvd.conf"
        #: our record of the pid we started, written atomically
        self.pid_file = directory / "radvd.pid"
        #: radvd's own pid file: radvd writes it, reads it back and exits when it does
        #: not hold its pid, so nothing else may ever write (or truncate) it
        self.daemon_pid_file = directory / "radvd-daemon.pid"
        self.log = directory / "radvd.log"

    @property
    def marker(self) -> str:
        return str(self.conf)

    def pid(self) -> int | None:
        pid = ip_lib.read_pid(self.pid_file)
        if pid is not None and ip_lib.pid_alive(pid, self.marker):
            return pid
        return None

    def update(self, interfaces: list[RaInterface], reaper: ip_lib.Reaper) -> None:
        """Advertise on ``interfaces``: start, reload (SIGHUP) or stop radvd."""
        text = render(interfaces)
        if not text:
            self.stop(reaper)
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        changed = write_if_changed(self.conf, text)
        pid = self.pid()
        if pid is None:
            self.daemon_pid_file.unlink(missing_ok=True)
            cmd = ["radvd", "-n", "-C", str(self.conf), "-p", str(self.daemon_pid_file)]
            cmd += ["-m", "logfile", "-l", str(self.log)]
            with open(self.log, "ab") as log:
                pid = reaper.start(cmd, self.namespace, log)
            write_if_changed(self.pid_file, str(pid))
            LOG.info("radvd started in %s", self.namespace)
        elif changed:
            os.kill(pid, signal.SIGHUP)

    def stop(self, reaper: ip_lib.Reaper) -> None:
        ip_lib.stop_daemon(self.pid_file, self.marker, reaper)
        self.daemon_pid_file.unlink(missing_ok=True)
        self.conf.unlink(missing_ok=True)
