"""What every agent shares: RPC clients, its fanout endpoint, heartbeats, a worker loop.

An agent's RPC endpoint only records what changed and wakes the worker thread;
the worker applies changes one batch at a time (``process``), so the data plane
is only ever touched from one thread per agent. A failed batch, a restart and a
timer (``resync_interval``) trigger a full resync from the service.
"""

from __future__ import annotations

import abc
import ctypes
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tinystack.common.rpc import RPCServer, Target, Transport
from tinystack.common.rpc.payload import JSON
from tinystack.network.agents.ip_lib import NETNS_DIR, IpLib
from tinystack.network.payloads import AgentState
from tinystack.network.rpcapi import PluginApi, ReportsApi, running_versions

LOG = logging.getLogger(__name__)
CLONE_NEWNET = 0x40000000
RTMGRP_LINK = 1


class AgentOptions(Protocol):
    """The ``[network]`` options the agents read (the service's typed options have them)."""

    @property
    def host(self) -> str: ...

    @property
    def host_namespace(self) -> str: ...

    @property
    def dataplane_agents(self) -> Sequence[str]: ...

    @property
    def firewall_chain_prefix(self) -> str: ...

    @property
    def report_interval(self) -> float: ...

    @property
    def resync_interval(self) -> float: ...

    @property
    def metering_report_interval(self) -> float: ...

    @property
    def bridge_mappings(self) -> Sequence[str]: ...

    @property
    def physical_interface_mappings(self) -> Sequence[str]: ...

    @property
    def local_ip(self) -> str: ...

    @property
    def vxlan_udp_port(self) -> int: ...

    @property
    def public_physical_network(self) -> str: ...

    @property
    def public_bridge_address(self) -> str: ...

    @property
    def public_nat_interface(self) -> str: ...

    @property
    def dhcp_namespace_prefix(self) -> str: ...

    @property
    def dhcp_lease_duration(self) -> int: ...

    @property
    def dns_domain(self) -> str: ...

    @property
    def dnsmasq_dns_servers(self) -> Sequence[str]: ...

    @property
    def enable_isolated_metadata(self) -> bool: ...

    @property
    def router_namespace_prefix(self) -> str: ...

    @property
    def metadata_port(self) -> int: ...

    @property
    def metadata_proxy_shared_secret(self) -> str: ...


@dataclass
class AgentContext:
    """What an agent is given: options, the RPC transport, its host and directories."""

    opts: AgentOptions
    transport: Transport
    host: str
    state_dir: Path
    namespace: str | None = None  # the host's namespace (None: this process's)
    metadata_url: str = ""
    chain_prefix: str = "TS"

    @property
    def ip(self) -> IpLib:
        return IpLib(self.namespace)


class JsonState:
    """A small JSON document persisted atomically (what an agent created)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.data = {}

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)


class Agent(abc.ABC):
    agent_type: str
    binary: str
    topic: str | None = None

    def __init__(self, ctx: AgentContext) -> None:
        self.ctx = ctx
        self.opts = ctx.opts
        self.host = ctx.host
        self.agent_id = f"{self.binary}@{ctx.host}"
        self.plugin = PluginApi(ctx.transport, timeout=30)
        self.reports = ReportsApi(ctx.transport, timeout=30)
        self.lock = threading.Lock()
        self.full_resync = True
        self.poll_interval = 5.0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._rpc: RPCServer | None = None
        self._started = False
        self.synced = threading.Event()  # set after the first successful full sync

    # -- life cycle ----------------------------------------------------------------------

    def endpoints(self) -> list[object]:
        return []

    def start(self) -> None:
        if self.topic:
            target = Target(self.topic, server=f"{self.host}.{self.binary}")
            self._rpc = RPCServer(self.ctx.transport, target, self.endpoints(), executor_threads=2)
            self._rpc.start()
        self._stopping.clear()
        self._spawn(self._run, "worker")
        self._spawn(self._report_loop, "report")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=f"{self.binary}-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._rpc is not None:
            self._rpc.stop()
            self._rpc.wait()
            self._rpc = None
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []

    def cleanup(self) -> None:  # noqa: B027 - agents without state have nothing to remove
        """Remove everything this agent created (call after :meth:`stop`)."""

    def wake(self) -> None:
        self._wake.set()

    # -- worker --------------------------------------------------------------------------

    def _run(self) -> None:
        next_resync = time.monotonic() + float(self.opts.resync_interval)
        failures = 0
        while not self._stopping.is_set():
            if time.monotonic() >= next_resync:
                self.full_resync = True
            with self.lock:
                full = self.full_resync
                self.full_resync = False
            try:
                self.process(full)
                failures = 0
                if full:
                    next_resync = time.monotonic() + float(self.opts.resync_interval)
                    self.synced.set()
            except Exception:  # resync after any failure
                failures += 1
                LOG.exception("%s on %s: processing failed; full resync", self.binary, self.host)
                with self.lock:
                    self.full_resync = True
                self._stopping.wait(min(0.5 * failures, 5.0))
                continue
            timeout = max(0.0, min(self.poll_interval, next_resync - time.monotonic()))
            self._wake.wait(timeout)
            self._wake.clear()

    @abc.abstractmethod
    def process(self, full: bool) -> None:
        """Apply what changed (everything when ``full``)."""

    # -- heartbeats ----------------------------------------------------------------------

    def configurations(self) -> dict[str, JSON]:
        return {}

    def report(self, start_flag: bool = False) -> None:
        state = AgentState(
            agent_type=self.agent_type,
            binary=self.binary,
            host=self.host,
            topic=self.topic or "N/A",
            configurations=self.configurations(),
            start_flag=start_flag,
            resource_versions=running_versions(),
        )
        self.reports.report_state({}, state)

    def after_report(self) -> None:  # noqa: B027
        """Called after every heartbeat (the L2 agent syncs its tunnels here)."""

    def _report_loop(self) -> None:
        first = True
        while not self._stopping.is_set():
            try:
                self.report(start_flag=first)
                first = False
                self.after_report()
            except Exception:  # keep reporting
                LOG.warning("%s on %s: report_state failed", self.binary, self.host, exc_info=True)
            self._stopping.wait(float(self.opts.report_interval))


# -- link events ------------------------------------------------------------------------------


def enter_namespace(name: str) -> None:
    """Move the calling thread into network namespace ``name``."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(NETNS_DIR / name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)


class LinkWatcher:
    """Calls ``callback`` on every rtnetlink link event of a namespace (taps appearing)."""

    def __init__(self, namespace: str | None, callback: Callable[[], None]) -> None:
        self.namespace = namespace
        self.callback = callback
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="link-watcher", daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        try:
            if self.namespace:
                enter_namespace(self.namespace)
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
            sock.bind((0, RTMGRP_LINK))
            sock.settimeout(0.5)
        except OSError:
            LOG.warning("no link events in %s: polling only", self.namespace, exc_info=True)
            self._ready.set()
            return
        self._ready.set()
        with sock:
            while not self._stopping.is_set():
                try:
                    sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    continue
                self.callback()


def write_if_changed(path: Path, text: str, mode: int = 0o644) -> bool:
    """Write a daemon's config file atomically (mode 0644: radvd refuses writable
    configs); True when the content changed, so the caller knows to reload."""
    try:
        if path.read_text() == text:
            return False
    except OSError:
        pass
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    os.replace(tmp, path)
    return True
