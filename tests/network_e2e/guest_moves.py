"""The guests of the two-host test of moves (``test_two_hosts.py``): boots, and what the
test reads of them on either host.

Each host's ``my_ip`` is its underlay address, so a destination pulls the disks from the
source's exports across the underlay. A guest keeps a marker 512 MiB into its root disk
and prints its checksum at every boot (``XH-SUM``), read from the console of the host it
runs on.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from tests.network_dataplane.support import wait_for
from tests.network_e2e.conftest import Cloud

if TYPE_CHECKING:
    from tests.network_e2e.test_two_hosts import SecondHost

#: each host's migration address; config drives carry the user data (no metadata route);
#: a resize always goes to the other host
COMPUTE_EXTRA = "my_ip = {address}\nforce_config_drive = true\nallow_resize_to_same_host = false"
#: a marker 512 MiB into the root disk, written once; its checksum printed at every boot
USER_DATA = """#!/bin/sh
at=1048576
m=$(dd if=/dev/vda bs=512 skip=$at count=1 2>/dev/null | head -c 5)
if [ "$m" != "TSXH-" ]; then
    printf 'TSXH-%s\\n' "$(head -c 16 /dev/urandom | md5sum | cut -c1-16)" |
        dd of=/dev/vda bs=512 seek=$at conv=notrunc 2>/dev/null
    sync
fi
sum=$(dd if=/dev/vda bs=512 skip=$at count=1 2>/dev/null | md5sum | cut -c1-32)
echo "XH-SUM $sum boot=$(cat /proc/sys/kernel/random/boot_id)"
"""
SUM = re.compile(r"XH-SUM ([0-9a-f]{32}) boot=([0-9a-f-]+)")


class Guests:
    """Boots, and what the test reads of a guest on either host."""

    def __init__(self, cloud: Cloud, host2: SecondHost) -> None:
        self.cloud, self.host2 = cloud, host2
        self.h1 = str(cloud.osc("network", "agent", "list", "--agent-type", "l3")[0]["Host"])
        self.seen: set[str] = set()
        self.ports: dict[str, str] = {}
        self.script = Path(cloud.proc.state_dir) / "user-data-xh"
        self.script.write_text(USER_DATA)

    def boot(self, name: str, net: str, host: str) -> str:
        port = self.cloud.osc("port", "create", "--network", net, f"{self.cloud.tag}-{name}")
        self.cloud.state.setdefault("ports", {})[name] = {"id": port["id"]}
        server = self.cloud.osc(
            "server", "create", "--image", "tinystack-test", "--flavor", "m1.tiny",
            "--port", port["id"], "--user-data", str(self.script),
            "--availability-zone", f"nova:{host}", f"{self.cloud.tag}-{name}",
        )  # fmt: skip
        self.ports[server["id"]] = port["id"]
        return str(server["id"])

    def new_boot_sum(self, sid: str, timeout: float = 240) -> str:
        """The root disk's marker checksum printed by a boot not seen before."""

        def fresh() -> str | None:
            for found, boot in SUM.findall(self.cloud.console(sid)):
                if boot not in self.seen:
                    self.seen.add(boot)
                    return str(found)
            return None

        found = wait_for(fresh, timeout, 1.0)
        assert found, f"no new boot of {sid}:\n{self.cloud.console(sid)[-3000:]}"
        return str(found)

    def show(self, sid: str) -> dict[str, object]:
        return dict(self.cloud.api.get(f"/servers/{sid}").json()["server"])

    def host_of(self, sid: str) -> str:
        return str(self.show(sid)["OS-EXT-SRV-ATTR:host"])

    def state_dir(self, host: str) -> Path:
        return self.host2.state if host == self.host2.name else Path(self.cloud.proc.state_dir)

    def leftovers(self, sid: str, host: str) -> list[str]:
        """What of the guest is left on ``host``: QEMUs, its tap, its directories."""
        found = [f"qemu {pid}" for pid in qemus(sid, self.state_dir(host))]
        instances = self.state_dir(host) / "instances"
        found += [str(p) for p in (instances / sid, instances / f"{sid}_resize") if p.exists()]
        tap = f"tap{self.ports[sid][:11]}"
        if host == self.host2.name:
            if tap in self.host2.ns.sh("ip", "-o", "link", "show"):
                found.append(f"{tap} in {self.host2.ns.name}")
        elif Path(f"/sys/class/net/{tap}").exists():
            found.append(tap)
        return found


def qemus(uuid: str, under: Path | None = None) -> list[int]:
    """The PIDs of live QEMUs started for instance ``uuid`` (on either host, or the one
    whose state directory is ``under``)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if not args or b"qemu-system" not in args[0] or uuid.encode() not in args:
            continue
        if state != "Z" and (under is None or any(str(under).encode() in a for a in args)):
            pids.append(int(entry))
    return pids
