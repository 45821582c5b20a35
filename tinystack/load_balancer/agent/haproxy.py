"""HAProxy for one load balancer: its configuration, the process in the namespace, and
its stats socket.

The configuration is rendered from the :class:`LoadBalancerSpec` (a frontend per
listener, a backend per pool, a server per member, checks from the pool's health
monitor, L7 policies as ACLs). A change reloads HAProxy seamlessly: the new process
takes the listening sockets over the stats socket (``-x``, ``expose-fd listeners``)
and the old one finishes its connections (``-sf``). The pid file and the configuration
path in the process's command line are how a restarted agent finds (adopts) it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import signal
import socket
import subprocess
from pathlib import Path

from tinystack.load_balancer.specs import (
    ListenerCounters,
    ListenerSpec,
    LoadBalancerSpec,
    MemberSpec,
    PolicySpec,
    PoolSpec,
)

LOG = logging.getLogger(__name__)
BALANCE = {
    "ROUND_ROBIN": "roundrobin",
    "LEAST_CONNECTIONS": "leastconn",
    "SOURCE_IP": "source",
    "SOURCE_IP_PORT": "source",
}
HTTP_MODE = {"HTTP", "TERMINATED_HTTPS"}
MATCH = {
    "EQUAL_TO": "-m str",
    "STARTS_WITH": "-m beg",
    "ENDS_WITH": "-m end",
    "CONTAINS": "-m sub",
    "REGEX": "-m reg",
}
#: HAProxy's server status (``show stat`` column ``status``) -> Octavia operating status
HEALTH = {
    "UP": "ONLINE",
    "DOWN": "ERROR",
    "MAINT": "OFFLINE",
    "DRAIN": "DRAINING",
    "no check": "NO_MONITOR",
    "NOLB": "DRAINING",
}


def _codes(expected: str) -> str:
    if "-" in expected:
        low, high = (c.strip() for c in expected.split("-"))
        return f"status {low}-{high}"
    codes = [c.strip() for c in expected.split(",")]
    return "rstatus " + "|".join(codes) if len(codes) > 1 else f"status {codes[0]}"


def _server(pool: PoolSpec, member: MemberSpec) -> str:
    line = f"    server {member.id} {member.address}:{member.protocol_port} weight {member.weight}"
    hm = pool.monitor
    if hm is not None:
        line += f" check inter {hm.delay}s fall {hm.max_retries_down} rise {hm.max_retries}"
        if member.monitor_address:
            line += f" addr {member.monitor_address}"
        if member.monitor_port:
            line += f" port {member.monitor_port}"
    if pool.persistence_type == "HTTP_COOKIE":
        line += f" cookie {member.id}"
    if pool.protocol == "PROXY":
        line += " send-proxy"
    elif pool.protocol == "PROXYV2":
        line += " send-proxy-v2"
    if member.backup:
        line += " backup"
    if not member.enabled:
        line += " disabled"
    return line


def _backend(pool: PoolSpec, ping: Path) -> list[str]:
    mode = "http" if pool.protocol in HTTP_MODE else "tcp"
    lines = [f"backend {pool.id}", f"    mode {mode}", f"    balance {BALANCE[pool.lb_algorithm]}"]
    if pool.persistence_type == "SOURCE_IP":
        lines += ["    stick-table type ip size 10k", "    stick on src"]
    elif pool.persistence_type == "HTTP_COOKIE" and mode == "http":
        lines.append("    cookie SRV insert indirect nocache")
    elif pool.persistence_type == "APP_COOKIE" and mode == "http":
        name = pool.cookie_name or "SESSION"
        lines += [
            "    stick-table type string len 64 size 10k",
            f"    stick store-response res.cook({name})",
            f"    stick match req.cook({name})",
        ]
    hm = pool.monitor
    if hm is not None:
        lines.append(f"    timeout check {hm.timeout}s")
        if hm.type in ("HTTP", "HTTPS"):
            check = f"    option httpchk {hm.http_method} {hm.url_path}"
            if hm.domain_name:
                check += f" HTTP/1.1\\r\\nHost:\\ {hm.domain_name}"
            lines += [check, f"    http-check expect {_codes(hm.expected_codes)}"]
            if hm.type == "HTTPS":
                lines.append("    option ssl-hello-chk")
        elif hm.type == "TLS-HELLO":
            lines.append("    option ssl-hello-chk")
        elif hm.type == "PING":
            lines += ["    option external-check", f"    external-check command {ping}"]
    if not pool.enabled:
        lines.append("    disabled")
    lines += [_server(pool, m) for m in pool.members]
    return lines


def _acl(policy: PolicySpec) -> tuple[list[str], str]:
    names, lines = [], []
    for n, rule in enumerate(policy.rules):
        fetch = {
            "HOST_NAME": "hdr(host)",
            "PATH": "path",
            "FILE_TYPE": "path_end",
            "HEADER": f"req.hdr({rule.key})",
            "COOKIE": f"req.cook({rule.key})",
        }.get(rule.type)
        if fetch is None:
            continue
        match = "-m str" if rule.type == "FILE_TYPE" else MATCH[rule.compare_type]
        name = f"{policy.id}_{n}"
        lines.append(f"    acl {name} {fetch} {match} {rule.value}")
        names.append(("!" if rule.invert else "") + name)
    return lines, " ".join(names)


def _frontend(spec: LoadBalancerSpec, listener: ListenerSpec, pools: set[str]) -> list[str]:
    mode = "http" if listener.protocol in HTTP_MODE else "tcp"
    lines = [
        f"frontend {listener.id}",
        f"    bind {spec.vip_address}:{listener.protocol_port}",
        f"    mode {mode}",
        f"    timeout client {listener.timeout_client_data}",
    ]
    if listener.connection_limit >= 0:
        lines.append(f"    maxconn {listener.connection_limit}")
    if listener.allowed_cidrs:
        lines.append(f"    acl allowed src {' '.join(listener.allowed_cidrs)}")
        lines.append("    tcp-request connection reject if !allowed")
    headers = dict(listener.insert_headers)
    if mode == "http" and headers.get("X-Forwarded-For", "").lower() == "true":
        lines.append("    option forwardfor")
    if mode == "http" and headers.get("X-Forwarded-Port", "").lower() == "true":
        lines.append(f"    http-request set-header X-Forwarded-Port {listener.protocol_port}")
    for policy in listener.policies if mode == "http" else ():
        acls, condition = _acl(policy)
        if not condition:
            continue
        lines += acls
        if policy.action == "REJECT":
            lines.append(f"    http-request deny if {condition}")
        elif policy.action == "REDIRECT_TO_URL" and policy.redirect_url:
            lines.append(
                f"    redirect location {policy.redirect_url} code "
                f"{policy.redirect_http_code} if {condition}"
            )
        elif policy.action == "REDIRECT_PREFIX" and policy.redirect_prefix:
            lines.append(
                f"    redirect prefix {policy.redirect_prefix} code "
                f"{policy.redirect_http_code} if {condition}"
            )
        elif policy.action == "REDIRECT_TO_POOL" and policy.redirect_pool_id in pools:
            lines.append(f"    use_backend {policy.redirect_pool_id} if {condition}")
    if listener.default_pool_id in pools:
        lines.append(f"    default_backend {listener.default_pool_id}")
    if not listener.enabled:
        lines.append("    disabled")
    return lines


def render(spec: LoadBalancerSpec, stats_socket: Path, ping: Path) -> str:
    ping_used = any(p.monitor is not None and p.monitor.type == "PING" for p in spec.pools)
    lines = [
        "# generated by tinystack's load balancer agent; rewritten on every change",
        "global",
        "    maxconn 4000",
        f"    stats socket {stats_socket} mode 600 level admin expose-fd listeners",
        "    stats timeout 30s",
    ]
    if ping_used:
        lines += ["    external-check", "    insecure-fork-wanted"]
    lines += [
        "",
        "defaults",
        "    retries 3",
        "    option redispatch",
        "    timeout connect 5000",
        "    timeout client 50000",
        "    timeout server 50000",
        "",
    ]
    pools = {p.id for p in spec.pools}
    for listener in spec.listeners:
        lines += _frontend(spec, listener, pools)
        lines.append("")
    timeouts = {li.default_pool_id: li for li in spec.listeners if li.default_pool_id}
    for pool in spec.pools:
        block = _backend(pool, ping)
        owner = timeouts.get(pool.id)
        if owner is not None:
            block[3:3] = [
                f"    timeout connect {owner.timeout_member_connect}",
                f"    timeout server {owner.timeout_member_data}",
            ]
        lines += [*block, ""]
    return "\n".join(lines) + "\n"


PING_SCRIPT = """#!/bin/sh
# HAProxy external check: $3 is the server address
exec ping -c 1 -W 2 "$3" >/dev/null 2>&1
"""


#: the longest stats socket path given to HAProxy: ``sun_path`` holds 108 bytes with its
#: NUL, and HAProxy binds ``<path>.<pid>.tmp`` first, then renames it
SOCKET_PATH_MAX = 90


def stats_socket_path(directory: Path) -> Path:
    """``<directory>/stats.sock``, or when that is too long for a unix socket (a deep state
    directory) a short one named by the directory's hash under ``/run/tinystack-lb`` (as
    root) or ``/tmp/tinystack-lb`` — the same name after every restart, so a restarted
    agent still reaches the HAProxy it adopts."""
    natural = directory / "stats.sock"
    if len(os.fsencode(natural)) <= SOCKET_PATH_MAX:
        return natural
    base = Path("/run/tinystack-lb") if os.geteuid() == 0 else Path("/tmp/tinystack-lb")
    digest = hashlib.sha256(os.fsencode(directory.absolute())).hexdigest()[:24]
    return base / f"{digest}.sock"


class HAProxy:
    """The HAProxy of one load balancer, in ``namespace``, files in ``directory``."""

    def __init__(self, binary: str, directory: Path, namespace: str) -> None:
        self.binary = binary
        self.directory = directory
        self.namespace = namespace
        self.config = directory / "haproxy.cfg"
        self.pidfile = directory / "haproxy.pid"
        self.socket = stats_socket_path(directory)
        self.ping = directory / "ping-check"

    def pids(self) -> list[int]:
        """The running processes started with this configuration (adopted ones too)."""
        try:
            found = [int(p) for p in self.pidfile.read_text().split()]
        except (OSError, ValueError):
            return []
        alive = []
        for pid in found:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if str(self.config).encode() in cmdline:
                alive.append(pid)
        return alive

    def ensure(self, spec: LoadBalancerSpec) -> bool:
        """Run HAProxy with the spec's configuration; True if it (re)started or reloaded."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a short path
        if not self.ping.exists():
            self.ping.write_text(PING_SCRIPT)
            self.ping.chmod(0o755)
        text = render(spec, self.socket, self.ping)
        old = self.config.read_text() if self.config.exists() else ""
        running = self.pids()
        if running and old == text:
            return False
        self.config.write_text(text)
        check = self._run([self.binary, "-c", "-f", str(self.config)])
        if check.returncode != 0:
            said = (check.stderr.strip() + "\n" + check.stdout.strip()).strip()
            raise RuntimeError(
                f"haproxy refused its configuration (exit {check.returncode}): {said}"
            )
        cmd = [self.binary, "-f", str(self.config), "-p", str(self.pidfile), "-D"]
        if running:
            if self.socket.exists():
                cmd += ["-x", str(self.socket)]
            cmd += ["-sf", *map(str, running)]
        started = self._run(cmd)
        if started.returncode != 0:
            raise RuntimeError(f"haproxy did not start: {started.stderr.strip()}")
        return True

    def _run(self, cmd: list[str]) -> subprocess.CompletedProcess[str]:
        full = ["ip", "netns", "exec", self.namespace, *cmd]
        return subprocess.run(full, capture_output=True, text=True, timeout=30, check=False)

    def stop(self) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if not self.socket.is_relative_to(self.directory):  # a short path elsewhere
            self.socket.unlink(missing_ok=True)

    def stats(self) -> list[dict[str, str]]:
        """``show stat`` as rows (raises OSError when HAProxy does not answer)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(str(self.socket))
            sock.sendall(b"show stat\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        text = b"".join(chunks).decode(errors="replace").lstrip("# ")
        return list(csv.DictReader(io.StringIO(text)))


def health(
    rows: list[dict[str, str]], spec: LoadBalancerSpec
) -> tuple[tuple[tuple[str, str], ...], tuple[ListenerCounters, ...]]:
    """Member operating statuses and listener counters from ``show stat`` rows."""
    members = {m.id for p in spec.pools for m in p.members}
    listeners = {li.id for li in spec.listeners}
    states, counters = [], []
    for row in rows:
        name = row.get("svname", "")
        if name in members:
            status = row.get("status", "")
            key = "no check" if status.startswith("no check") else status.split(" ")[0]
            states.append((name, HEALTH.get(key, "ERROR" if "DOWN" in status else "ONLINE")))
        elif name == "FRONTEND" and row.get("pxname") in listeners:
            counters.append(
                ListenerCounters(
                    listener_id=row["pxname"],
                    pid=int(row.get("pid") or 0),
                    bytes_in=int(row.get("bin") or 0),
                    bytes_out=int(row.get("bout") or 0),
                    active_connections=int(row.get("scur") or 0),
                    total_connections=int(row.get("stot") or 0),
                    request_errors=int(row.get("ereq") or 0),
                )
            )
    return tuple(states), tuple(counters)
