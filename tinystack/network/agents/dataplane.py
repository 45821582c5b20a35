"""The agents of one host, started and stopped together, and the data plane probe."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import zlib
from pathlib import Path

from tinystack.common.rpc import Transport
from tinystack.network.agents import dhcp, iptables
from tinystack.network.agents.base import Agent, AgentContext, AgentOptions
from tinystack.network.agents.dhcp import DhcpAgent
from tinystack.network.agents.l2 import LinuxBridgeAgent
from tinystack.network.agents.l3 import L3Agent
from tinystack.network.agents.metadata import MetadataAgent

LOG = logging.getLogger(__name__)
TOOLS = ("ip",)  # `ip netns exec` (netlink itself goes through pyroute2)


def probe(mode: str) -> tuple[bool, str]:
    """Whether to run the Linux agents for ``[network] dataplane = mode``, and why."""
    if mode == "none":
        return False, "dataplane = none"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if not iptables.available():
        missing.append("iptables-restore/ip6tables-restore")
    root = os.geteuid() == 0
    if mode == "linux":
        if not root or missing:
            reason = "not root" if not root else "missing " + ", ".join(missing)
            return True, f"dataplane = linux although {reason}: agents will fail"
        return True, "dataplane = linux"
    if not root:
        return False, "dataplane = auto: not root, so no Linux data plane"
    if missing:
        return False, "dataplane = auto: missing " + ", ".join(missing)
    return True, "dataplane = auto: root with iproute2 and iptables"


class DataPlane:
    """The L2, DHCP, L3 and metadata agents of one host (``host_namespace`` or this one)."""

    def __init__(
        self,
        opts: AgentOptions,
        transport: Transport,
        state_dir: Path,
        *,
        host: str | None = None,
        namespace: str | None = None,
        metadata_url: str = "",
        agents: list[str] | None = None,
    ) -> None:
        self.opts = opts
        host = host or str(opts.host or "") or socket.gethostname()
        namespace = namespace if namespace is not None else (str(opts.host_namespace) or None)
        state_dir.mkdir(parents=True, exist_ok=True)
        prefix = str(opts.firewall_chain_prefix or "")
        if not prefix:
            prefix = "TS" + format(zlib.crc32(str(state_dir.resolve()).encode()) & 0xFFFF, "04x")
        self.ctx = AgentContext(
            opts=opts,
            transport=transport,
            host=host,
            state_dir=state_dir,
            namespace=namespace,
            metadata_url=metadata_url,
            chain_prefix=prefix,
        )
        wanted = list(agents if agents is not None else opts.dataplane_agents)
        self.l2 = LinuxBridgeAgent(self.ctx) if "l2" in wanted else None
        self.metadata = MetadataAgent(self.ctx) if "metadata" in wanted else None
        socket_path = self.metadata.socket if self.metadata is not None else None
        self.dhcp = None
        if "dhcp" in wanted:
            if dhcp.available():
                self.dhcp = DhcpAgent(self.ctx, socket_path)
            else:
                LOG.warning("dnsmasq not found: no DHCP agent on %s", host)
        self.l3 = L3Agent(self.ctx, socket_path) if "l3" in wanted else None

    @property
    def host(self) -> str:
        return self.ctx.host

    @property
    def agents(self) -> list[Agent]:
        found = [self.l2, self.metadata, self.dhcp, self.l3]
        return [a for a in found if a is not None]

    def start(self) -> None:
        for agent in self.agents:
            agent.start()
        LOG.info(
            "data plane agents on %s: %s",
            self.host,
            ", ".join(a.binary for a in self.agents) or "none",
        )

    def wait_synced(self, timeout: float = 30) -> bool:
        return all(agent.synced.wait(timeout) for agent in self.agents)

    def stop(self, cleanup: bool = False) -> None:
        for agent in reversed(self.agents):
            agent.stop()
        if cleanup:
            self.cleanup()

    def cleanup(self) -> None:
        """Remove every namespace, process, bridge and rule the agents made."""
        for agent in (self.l3, self.dhcp, self.metadata, self.l2):
            if agent is None:
                continue
            try:
                agent.cleanup()
            except Exception:  # clean up what can be
                LOG.exception("cleanup of %s failed", agent.binary)
