"""Two (or more) libvirtds on this one machine, each standing for a compute host.

Each daemon runs in its own mount namespace (``unshare -m``, private propagation), where
its own directories are bind-mounted over ``/etc/libvirt`` (its ``libvirtd.conf`` and
``qemu.conf``, persistent domains, secrets), ``/run/libvirt`` (sockets, its QEMUs'
pidfiles and status), ``/var/lib/libvirt``, ``/var/cache/libvirt`` and
``/var/log/libvirt``; its own ``virtlogd`` runs beside it in the same namespace. So
neither daemon sees the other's (nor the system libvirtd's) domains, and the bind
sources stay readable from here: ``<dir>/run/qemu`` is where the driver finds the
QEMUs' pidfiles.

The daemons listen on TCP without authentication, each on its own loopback address
(``127.0.0.2``, ``127.0.0.3``, ...: the whole of 127/8 is the loopback) and port: that is
both how the tests' drivers connect and how one daemon reaches the other for a
peer-to-peer migration. Each has its own host UUID (libvirt refuses a migration to "the
same host"), its own migration/NBD port range, no cgroups (two daemons would both name
a domain's cgroup ``machine/qemu-1-<name>``) and no security driver (the guests run as
root with ``dac`` labels, as the driver asks).

Everything is stopped by PID at the end, whatever happened: the test domains (by name
prefix) are destroyed and undefined through each daemon, the daemons and their virtlogds
terminated, any QEMU still named with the prefix and any process left in one of the
namespaces killed; the namespaces end with their last process (nothing is mounted
outside them), and the directories are removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tinystack.compute.virt.driver import DriverError
from tinystack.compute.virt.libvirt import connection

#: the name every directory of these daemons carries (stale ones are found by it)
MARK = "tslm-libvirt-hosts"
#: the libvirt directories each daemon gets its own copy of
PRIVATE = {
    "etc": "/etc/libvirt",
    "run": "/run/libvirt",
    "lib": "/var/lib/libvirt",
    "cache": "/var/cache/libvirt",
    "log": "/var/log/libvirt",
}


@dataclass(frozen=True)
class Ports:
    """The TCP ports of the daemons (each gets its share of every range)."""

    libvirtd: int = 21190
    migration: tuple[int, int] = (21100, 21179)
    display: tuple[int, int] = (21040, 21079)


@dataclass
class LibvirtHost:
    """One libvirtd standing for one compute host."""

    index: int
    base: Path
    address: str
    port: int
    proc: subprocess.Popen[bytes] | None = None
    namespace: str = ""
    pids: list[int] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"qemu+tcp://{self.address}:{self.port}/system"

    @property
    def migration_uri(self) -> str:
        """The driver's ``migration_uri`` (``%s``: its inbound address)."""
        return f"qemu+tcp://%s:{self.port}/system"

    @property
    def run_dir(self) -> Path:
        """Its ``/run/libvirt/qemu`` seen from here (the QEMUs' pidfiles)."""
        return self.base / "run" / "qemu"

    @property
    def log(self) -> Path:
        return self.base / "log" / "libvirtd.log"


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "two libvirtds need root (mount namespaces)"
    try:
        connection.bindings()
    except DriverError as exc:
        return str(exc)
    for tool in ("libvirtd", "virtlogd", "unshare", "mount"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def _split(span: tuple[int, int], count: int, index: int) -> tuple[int, int]:
    share = (span[1] - span[0] + 1) // count
    low = span[0] + index * share
    return low, low + share - 1


def _configure(host: LibvirtHost, ports: Ports, count: int) -> None:
    for name in PRIVATE:
        (host.base / name).mkdir(parents=True, exist_ok=True)
    etc = host.base / "etc"
    (etc / "qemu").mkdir(exist_ok=True)
    for name in ("lib", "cache", "log"):
        (host.base / name / "qemu").mkdir(exist_ok=True)
    (etc / "libvirtd.conf").write_text(
        "listen_tls = 0\nlisten_tcp = 1\n"
        f'listen_addr = "{host.address}"\ntcp_port = "{host.port}"\n'
        'auth_tcp = "none"\nauth_unix_rw = "none"\nauth_unix_ro = "none"\n'
        f'host_uuid = "5e1f0000-0000-4000-8000-{host.index + 1:012d}"\n'
        f'log_outputs = "3:file:{host.log}"\n'
    )
    migration = _split(ports.migration, count, host.index)
    display = _split(ports.display, count, host.index)
    (etc / "qemu.conf").write_text(
        'cgroup_controllers = [ ]\nsecurity_driver = "none"\nuser = "root"\ngroup = "root"\n'
        f'migration_address = "{host.address}"\nmigration_host = "{host.address}"\n'
        f"migration_port_min = {migration[0]}\nmigration_port_max = {migration[1]}\n"
        f"remote_display_port_min = {display[0]}\nremote_display_port_max = {display[1]}\n"
        f"remote_websocket_port_min = {display[0]}\n"
        f"remote_websocket_port_max = {display[1]}\n"
    )
    (etc / "virtlogd.conf").write_text(f'log_outputs = "3:file:{host.base}/log/virtlogd.log"\n')


def _script(host: LibvirtHost) -> str:
    mounts = " && ".join(
        f"mount --bind {host.base / name} {path}" for name, path in PRIVATE.items()
    )
    run = host.base / "run"
    return (
        f"set -e; {mounts}; "
        f"virtlogd -p {run}/virtlogd.pid & "
        f"exec libvirtd --listen -p {run}/libvirtd.pid"
    )


def _spawn(host: LibvirtHost) -> None:
    cmd = ["unshare", "-m", "--propagation", "private", "--", "sh", "-c", _script(host)]
    with open(host.base / "daemon.out", "wb") as log:
        host.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    host.pids.append(host.proc.pid)


def _ready(host: LibvirtHost) -> None:
    """Wait until the daemon answers (it probes QEMU's capabilities first: ~10 s)."""
    assert host.proc is not None
    deadline = time.monotonic() + 60
    while not connection.usable(host.uri)[0]:
        if host.proc.poll() is not None or time.monotonic() > deadline:
            out = (host.base / "daemon.out").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"libvirtd {host.index} did not start:\n{out}")
        time.sleep(0.2)
    host.namespace = os.readlink(f"/proc/{host.proc.pid}/ns/mnt")
    virtlogd = _read_pid(host.base / "run" / "virtlogd.pid")
    if virtlogd is not None:
        host.pids.append(virtlogd)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def _processes() -> Iterator[int]:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            yield int(entry.name)


def _started(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot): with the PID, who the process is
    (None once it has exited, zombies included)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


def _kill(pids: list[int], sig: int = signal.SIGTERM, wait: float = 10) -> None:
    """Signal ``pids``, then SIGKILL those still there after ``wait``: only the processes
    they named when called (a PID freed meanwhile may be another's)."""
    who = {pid: started for pid in pids if (started := _started(pid)) is not None}

    def same(pid: int) -> bool:
        return _started(pid) == who[pid]

    for pid in who:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and any(same(p) for p in who):
        time.sleep(0.05)
    for pid in who:
        if same(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _reap(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)


def qemus_named(prefix: str) -> list[int]:
    """QEMUs whose guest name starts with ``prefix`` (``-name guest=<prefix>...``)."""
    found = []
    for pid in _processes():
        args = _cmdline(pid)
        if args and "qemu" in Path(args[0]).name:
            if any(a.startswith(f"guest={prefix}") for a in args):
                found.append(pid)
    return found


def remove_domains(host: LibvirtHost, prefix: str) -> list[str]:
    """Destroy and undefine ``host``'s domains (and secrets) named with ``prefix``."""
    lib = connection.bindings()
    try:
        conn = connection.open_connection(host.uri)
    except DriverError:
        return []
    removed = []
    try:
        for dom in conn.listAllDomains(0):
            if not str(dom.name()).startswith(prefix):
                continue
            with contextlib.suppress(lib.libvirtError):
                if dom.isActive():
                    dom.destroy()
                dom.undefineFlags(lib.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
                removed.append(str(dom.name()))
        for secret in conn.listAllSecrets(0):
            with contextlib.suppress(lib.libvirtError):
                if str(secret.usageID() or "").startswith(prefix):
                    secret.undefine()
    finally:
        connection.close_quietly(conn)
    return removed


def domains(uri: str) -> dict[str, str]:
    """``virsh -c uri list --all``: domain name -> state."""
    out = subprocess.run(
        ["virsh", "-c", uri, "list", "--all", "--name"], capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for name in out.split():
        state = subprocess.run(
            ["virsh", "-c", uri, "domstate", name], capture_output=True, text=True, check=True
        )
        found[name] = state.stdout.strip()
    return found


def stop(hosts: list[LibvirtHost], prefix: str) -> None:
    """Stop everything ``hosts`` started (by PID), whatever state they are in."""
    for host in hosts:
        with contextlib.suppress(Exception):
            remove_domains(host, prefix)
    # what runs in the daemons' namespaces is found while the daemons hold them: a
    # namespace's number, once freed, is given to the next new one (another test's `ip
    # netns exec`, whose processes this once killed)
    namespaces = {h.namespace for h in hosts if h.namespace}
    inside = [p for p in _processes() if namespaces and _namespace(p) in namespaces]
    daemons = [pid for host in hosts for pid in host.pids]
    _kill(daemons + [p for p in inside if p not in daemons])  # together: one wait
    for host in hosts:
        _reap(host.proc)
    _kill(qemus_named(prefix), signal.SIGKILL)


def _namespace(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return ""


def stop_stale(root: Path) -> list[int]:
    """Daemons a killed earlier run left (their command line names a directory marked
    :data:`MARK` under ``root``)."""
    stale = []
    for pid in _processes():
        args = _cmdline(pid)
        if args and Path(args[0]).name in ("libvirtd", "virtlogd"):
            if any(str(root) in a and MARK in a for a in args):
                stale.append(pid)
    _kill(stale)
    return stale


@contextlib.contextmanager
def libvirt_hosts(
    base: Path, prefix: str, count: int = 2, ports: Ports | None = None
) -> Iterator[list[LibvirtHost]]:
    """``count`` libvirtds under ``base`` (a fresh directory), stopped at the end; the
    domains named with ``prefix`` are removed from them first."""
    ports = ports or Ports()
    root = base / MARK
    stop_stale(base.parent)
    _kill(qemus_named(prefix), signal.SIGKILL)  # guests a killed earlier run left
    hosts = [
        LibvirtHost(i, root / f"h{i + 1}", f"127.0.0.{i + 2}", ports.libvirtd + i)
        for i in range(count)
    ]
    try:
        for host in hosts:  # started together, waited for in turn
            _configure(host, ports, count)
            _spawn(host)
        for host in hosts:
            _ready(host)
        yield hosts
    finally:
        stop(hosts, prefix)
        shutil.rmtree(root, ignore_errors=True)
