"""Linux networking of one namespace over rtnetlink (pyroute2), and procfs.

:class:`IpLib` manages links (bridges, veth pairs, vxlan and vlan devices), addresses,
routes and the bridge forwarding database (VXLAN flood entries) of one network namespace
(``None``: the agent's own), the way Neutron's ``IPWrapper(namespace=...)`` does, with
netlink requests through pyroute2's ``IPRoute`` rather than ``ip``/``bridge`` processes.

Sockets: every method opens its own rtnetlink socket and closes it before returning.
Agents call IpLib from several threads and an ``IPRoute`` is bound to the thread that
made it (its socket and asyncio loop are thread-local), so nothing is shared and
nothing stays open (opening one is a fraction of an ``ip`` process's ~3 ms). The socket
of a named namespace is created by a short-lived thread that enters the namespace
(``pyroute2.netns.setns``) and hands the socket back: a socket stays in the namespace it
was created in. (``IPRoute(netns=...)`` forks a child for every socket, ~10 ms, and
creates a missing namespace unless told otherwise.) ``/proc/sys`` files of a namespace
are written the same way, by a thread inside it, and link names become indexes with
``if_nametoindex`` (pyroute2 takes ~1 ms to parse a full link message).

Errors: a failed request raises :class:`CommandError` (``returncode``: the errno);
removing what is gone (links, addresses, routes, flood entries) is not an error.

Namespaces are the ``/run/netns`` bind mounts ``ip netns`` makes, created and removed
with ``pyroute2.netns``. Programs (dnsmasq, radvd, iptables-restore, the metadata proxy)
still run in a namespace through ``ip netns exec`` (:func:`execute`, :class:`Reaper`),
which also gives them the namespace's ``/sys`` and ``/etc/netns`` files.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import functools
import ipaddress
import logging
import os
import re
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pyroute2 import IPRoute
from pyroute2 import netns as pr_netns
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import rt_proto, rt_scope

LOG = logging.getLogger(__name__)
NETNS_DIR = Path("/run/netns")
ZERO_MAC = "00:00:00:00:00:00"
_NAME = re.compile(r"^[A-Za-z0-9_.:@-]{1,15}$")
_NETNS_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
CLONE_NEWNET = 0x40000000
RT_TABLE_MAIN = 254
RT_SCOPE_LINK = 253
RT_SCOPE_NOWHERE = 255
RTPROT_BOOT = 3  # what `ip route add` records when no proto is given
RTN_UNICAST = 1
_GONE = {errno.ENODEV, errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL, errno.ENXIO}
T = TypeVar("T")


class CommandError(RuntimeError):
    """A command exited non-zero, or a netlink request failed (``returncode``: its errno)."""

    def __init__(self, cmd: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{' '.join(cmd)} exited {returncode}: {stderr.strip()}")
        self.cmd = list(cmd)
        self.returncode = returncode
        self.stderr = stderr


def execute(
    cmd: Sequence[str],
    *,
    namespace: str | None = None,
    input: str | None = None,
    check: bool = True,
    timeout: float = 30,
) -> str:
    """Run ``cmd`` (inside ``namespace`` with ``ip netns exec``); its stdout."""
    full = ["ip", "netns", "exec", namespace, *cmd] if namespace else list(cmd)
    proc = subprocess.run(
        full, input=input, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise CommandError(full, proc.returncode, proc.stderr)
    return proc.stdout


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"invalid interface name {name!r}")
    return name


# -- running in a namespace --------------------------------------------------------------------


def in_namespace(namespace: str | None, func: Callable[[], T]) -> T:
    """``func()`` run by a short-lived thread inside ``namespace`` (None: by this thread).

    Only the network namespace changes (``/sys/class/net`` still shows the caller's
    links); sockets made there stay there, ``/proc/sys/net`` opened there is the
    namespace's. A missing namespace raises FileNotFoundError (it is never created).
    """
    return func() if namespace is None else _in_thread(func, namespace)


def _in_thread(func: Callable[[], T], namespace: str | None = None) -> T:
    """``func()`` run by a new thread (entering ``namespace`` first); its result or error."""
    result: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            if namespace is not None:
                pr_netns.setns(str(NETNS_DIR / namespace), flags=0)
            result.append(func())
        except BaseException as exc:  # handed to the caller
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"netns-{namespace or ''}", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def _rtnl_socket(namespace: str | None) -> Any:
    """An ``IPRoute`` on a new rtnetlink socket of ``namespace`` (no multicast groups)."""
    if namespace is None:
        return IPRoute(groups=0)
    sock = in_namespace(
        namespace,
        lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, socket.NETLINK_ROUTE),
    )
    return IPRoute(fileno=sock.detach(), groups=0)


def _off_event_loop(method: Callable[..., T]) -> Callable[..., T]:
    """Run ``method`` in a helper thread when called from a thread running an asyncio loop.

    pyroute2's synchronous API drives an event loop of its own, which cannot run inside
    a running one.
    """

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return method(*args, **kwargs)
        return _in_thread(lambda: method(*args, **kwargs))

    return wrapper


# -- namespaces ------------------------------------------------------------------------------


def netns_list() -> list[str]:
    return sorted(pr_netns.listnetns(str(NETNS_DIR)))


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def netns_add(name: str) -> bool:
    """Create the namespace with its loopback up; False when it existed.

    Like ``ip netns add``: a new network namespace bind-mounted on ``/run/netns/<name>``
    (a shared mount), made by a short-lived thread that unshares its own namespace.
    """
    if not _NETNS_NAME.match(name):
        raise ValueError(f"invalid namespace name {name!r}")
    if netns_exists(name):
        return False
    path = str(NETNS_DIR / name)
    libc = ctypes.CDLL(None, use_errno=True)

    def create() -> None:
        if libc.unshare(CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"unshare: {os.strerror(err)}")
        # /proc/thread-self: this thread's namespace (/proc/self is the main thread's)
        pr_netns.attach(path, "thread-self")

    try:
        _in_thread(create)
    except FileExistsError:
        return False
    except OSError as exc:
        with contextlib.suppress(OSError):
            if not os.path.ismount(path):
                os.unlink(path)
        raise CommandError(["netns", "add", name], exc.errno or 1, str(exc)) from exc
    IpLib(name).set_link("lo", up=True)
    return True


def netns_delete(name: str) -> None:
    """Unmount and remove ``/run/netns/<name>`` (the namespace ends with its last user)."""
    if netns_exists(name):
        try:
            pr_netns.remove(str(NETNS_DIR / name))
        except OSError as exc:
            LOG.warning("cannot delete namespace %s: %s", name, exc)


# -- links, addresses, routes in one namespace -------------------------------------------------


def _cidrs(msgs: Sequence[Any], index: int) -> list[str]:
    """Addresses of link ``index`` as CIDRs, without IPv6 link-local ones."""
    out = []
    for msg in msgs:
        if msg["index"] != index:
            continue
        if msg["family"] == socket.AF_INET6 and msg["scope"] == RT_SCOPE_LINK:
            continue
        address = msg.get("local") or msg.get("address")
        if address:
            out.append(f"{address}/{msg['prefixlen']}")
    return out


def _address(cidr: str) -> dict[str, Any]:
    try:
        iface = ipaddress.ip_interface(cidr)
    except ValueError as exc:
        raise CommandError(["address", cidr], errno.EINVAL, str(exc)) from exc
    return {"address": str(iface.ip), "prefixlen": iface.network.prefixlen}


def _destination(dest: str, family: int) -> dict[str, Any]:
    if dest == "default":
        return {"dst": "::" if family == socket.AF_INET6 else "0.0.0.0", "dst_len": 0}
    try:
        net = ipaddress.ip_network(dest)
    except ValueError as exc:
        raise CommandError(["route", dest], errno.EINVAL, str(exc)) from exc
    return {"dst": str(net.network_address), "dst_len": net.prefixlen}


def _route_options(args: Sequence[str]) -> dict[str, Any]:
    """``proto P``, ``dev D``, ``table T``, ``metric M`` of an ``ip route`` command line."""
    if len(args) % 2:
        raise ValueError(f"route options come in pairs: {args!r}")
    out: dict[str, Any] = {}
    for key, value in zip(args[::2], args[1::2], strict=True):
        if key in ("proto", "protocol"):
            out["proto"] = int(value) if value.isdigit() else int(rt_proto[value])
        elif key in ("dev", "oif"):
            out["dev"] = check_name(value)
        elif key == "table":
            out["table"] = RT_TABLE_MAIN if value == "main" else int(value)
        elif key == "metric":
            out["priority"] = int(value)
        else:
            raise ValueError(f"unsupported route option {key!r}")
    return out


def _route_dict(msg: Any, names: dict[int, str]) -> dict[str, Any]:
    """One route shaped like an entry of ``ip -j route show``."""
    family = msg["family"]
    full = 32 if family == socket.AF_INET else 128
    dst = msg.get("dst")
    if msg["dst_len"] == 0:
        text = "default"
    elif msg["dst_len"] == full:
        text = str(dst)
    else:
        text = f"{dst}/{msg['dst_len']}"
    out: dict[str, Any] = {}
    if msg["type"] != RTN_UNICAST:
        out["type"] = str(_name_of(msg["type"], {2: "local", 3: "broadcast", 6: "blackhole"}))
    out["dst"] = text
    if msg.get("gateway"):
        out["gateway"] = msg.get("gateway")
    if msg.get("oif"):
        out["dev"] = names.get(msg.get("oif"), str(msg.get("oif")))
    if msg["proto"] != RTPROT_BOOT:
        out["protocol"] = str(_name_of(msg["proto"], rt_proto))
    if msg["scope"] != 0:
        out["scope"] = str(_name_of(msg["scope"], rt_scope))
    if msg.get("prefsrc"):
        out["prefsrc"] = msg.get("prefsrc")
    if msg.get("priority") is not None:
        out["metric"] = msg.get("priority")
    out["flags"] = []
    return out


def _name_of(value: int, names: dict[Any, Any]) -> Any:
    name = names.get(value)
    return name if isinstance(name, str) else value


def _link_dict(msg: Any, names: dict[int, str]) -> dict[str, Any]:
    """One link shaped like an entry of ``ip -j -d link show`` (its common keys)."""
    out: dict[str, Any] = {
        "ifindex": msg["index"],
        "ifname": msg.get("ifname"),
        "flags": ["UP"] if msg["flags"] & 1 else [],
        "mtu": msg.get("mtu"),
        "operstate": str(msg.get("operstate") or "UNKNOWN"),
        "address": msg.get("address"),
    }
    if msg.get("master"):
        out["master"] = names.get(msg.get("master"), str(msg.get("master")))
    kind = msg.get(("linkinfo", "kind"))
    if kind:
        out["linkinfo"] = {"info_kind": kind}
    return out


class IpLib:
    """Links, addresses, routes and flood entries of ``namespace`` (None: the current one).

    Reads of the agent's own namespace use sysfs where it answers (link names, masters,
    bridge ports); everything else is a netlink request on a socket of the call's own.
    Adding what exists raises CommandError (EEXIST; callers check :meth:`exists`), except
    addresses; removing what is gone does not.
    """

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace or None

    def __repr__(self) -> str:
        return f"IpLib({self.namespace!r})"

    @contextlib.contextmanager
    def _rtnl(self, *what: str) -> Iterator[Any]:
        """An ``IPRoute`` of this namespace for one call; netlink errors as CommandError."""
        try:
            ipr = _rtnl_socket(self.namespace)
        except OSError as exc:
            where = f"namespace {self.namespace}: {exc.strerror or exc}"
            raise CommandError(["netlink", *what], exc.errno or 1, where) from exc
        try:
            yield ipr
        except NetlinkError as exc:
            raise CommandError(["netlink", *what], exc.code, os.strerror(exc.code)) from exc
        finally:
            ipr.close()

    def _index(self, name: str) -> int:
        """The index of link ``name`` (``if_nametoindex``: no netlink message to parse)."""
        check_name(name)
        try:
            return in_namespace(self.namespace, lambda: socket.if_nametoindex(name))
        except FileNotFoundError as exc:
            raise CommandError(["link", "show", name], errno.ENOENT, str(exc)) from exc
        except OSError as exc:
            raise CommandError(["link", "show", name], errno.ENODEV, "no such device") from exc

    def exec(self, cmd: Sequence[str], input: str | None = None, check: bool = True) -> str:
        return execute(cmd, namespace=self.namespace, input=input, check=check)

    # links

    @_off_event_loop
    def link_names(self) -> list[str]:
        if self.namespace is None:
            return os.listdir("/sys/class/net")
        with self._rtnl("link show") as ipr:
            return [str(msg.get("ifname")) for msg in ipr.link("dump")]

    @_off_event_loop
    def link_masters(self, prefix: str = "") -> dict[str, str | None]:
        """Each link whose name starts with ``prefix``, with the bridge it is a port of
        (None: none); one netlink dump in a namespace, where ``master_of`` is a socket."""
        if self.namespace is None:
            names = [n for n in os.listdir("/sys/class/net") if n.startswith(prefix)]
            return {n: self.master_of(n) for n in names}
        with self._rtnl("link show") as ipr:
            msgs = ipr.link("dump")
        by_index = {msg["index"]: str(msg.get("ifname")) for msg in msgs}
        found = {str(msg.get("ifname")): msg.get("master") for msg in msgs}
        return {n: by_index.get(m) if m else None for n, m in found.items() if n.startswith(prefix)}

    @_off_event_loop
    def links(self) -> dict[str, dict[str, Any]]:
        """Every link, by name, as a dict shaped like ``ip -j -d link show``'s entries."""
        with self._rtnl("link show") as ipr:
            msgs = ipr.link("dump")
        names = {msg["index"]: str(msg.get("ifname")) for msg in msgs}
        return {str(msg.get("ifname")): _link_dict(msg, names) for msg in msgs}

    @_off_event_loop
    def exists(self, name: str) -> bool:
        if self.namespace is None:
            return os.path.exists(f"/sys/class/net/{name}")
        try:
            self._index(name)
        except CommandError:
            return False
        return True

    @_off_event_loop
    def master_of(self, name: str) -> str | None:
        """The bridge ``name`` is a port of (None: none, or no such link)."""
        if self.namespace is None:
            try:
                return os.path.basename(os.readlink(f"/sys/class/net/{name}/master"))
            except OSError:
                return None
        with self._rtnl("link show", name) as ipr:
            try:
                master = ipr.link("get", ifname=check_name(name))[0].get("master")
            except NetlinkError as exc:
                if exc.code in _GONE:
                    return None
                raise
            if not master:
                return None
            return str(ipr.link("get", index=master)[0].get("ifname"))

    @_off_event_loop
    def bridge_ports(self, bridge: str) -> list[str]:
        if self.namespace is None:
            try:
                return sorted(os.listdir(f"/sys/class/net/{bridge}/brif"))
            except OSError:
                return []
        with self._rtnl("link show") as ipr:
            msgs = ipr.link("dump")
        index = next((m["index"] for m in msgs if m.get("ifname") == bridge), None)
        if index is None:
            return []
        return sorted(str(m.get("ifname")) for m in msgs if m.get("master") == index)

    @_off_event_loop
    def add_bridge(self, name: str, mtu: int | None = None) -> None:
        """A bridge without STP nor forward delay, no IPv6 on it, up."""
        spec: dict[str, Any] = {"ifname": check_name(name), "kind": "bridge"}
        if mtu:
            spec["mtu"] = int(mtu)
        with self._rtnl("link add", name, "type bridge") as ipr:
            ipr.link("add", br_stp_state=0, br_forward_delay=0, **spec)
            self.disable_ipv6(name)
            ipr.link("set", index=self._index(name), state="up")

    @_off_event_loop
    def add_veth(
        self,
        name: str,
        peer: str,
        peer_namespace: str | None = None,
        mtu: int | None = None,
        peer_mac: str | None = None,
    ) -> None:
        """A veth pair: ``name`` here, ``peer`` in ``peer_namespace`` (both left down)."""
        spec: dict[str, Any] = {"ifname": check_name(name), "kind": "veth"}
        peer_spec: dict[str, Any] = {"ifname": check_name(peer)}
        if mtu:
            spec["mtu"] = peer_spec["mtu"] = int(mtu)
        if peer_mac:
            peer_spec["address"] = peer_mac
        with contextlib.ExitStack() as stack:
            if peer_namespace:
                try:
                    fd = os.open(NETNS_DIR / peer_namespace, os.O_RDONLY)
                except OSError as exc:
                    raise CommandError(
                        ["netlink", "link", "add", name, "peer", peer, "netns", peer_namespace],
                        exc.errno or 1,
                        str(exc),
                    ) from exc
                stack.callback(os.close, fd)
                peer_spec["net_ns_fd"] = fd
            with self._rtnl("link add", name, "type veth peer", peer) as ipr:
                ipr.link("add", peer=peer_spec, **spec)

    @_off_event_loop
    def add_vxlan(self, name: str, vni: int, local: str, port: int, mtu: int | None = None) -> None:
        spec: dict[str, Any] = {"ifname": check_name(name), "kind": "vxlan"}
        if mtu:
            spec["mtu"] = int(mtu)
        with self._rtnl("link add", name, "type vxlan") as ipr:
            ipr.link("add", vxlan_id=int(vni), vxlan_local=local, vxlan_port=int(port), **spec)
        self.disable_ipv6(name)

    @_off_event_loop
    def add_vlan(self, name: str, parent: str, vid: int, mtu: int | None = None) -> None:
        spec: dict[str, Any] = {"ifname": check_name(name), "kind": "vlan", "vlan_id": int(vid)}
        if mtu:
            spec["mtu"] = int(mtu)
        with self._rtnl("link add", name, "link", parent, "type vlan") as ipr:
            ipr.link("add", link=self._index(parent), **spec)
        self.disable_ipv6(name)

    @_off_event_loop
    def set_link(
        self,
        name: str,
        *,
        master: str | None = None,
        nomaster: bool = False,
        up: bool | None = None,
        mtu: int | None = None,
        address: str | None = None,
    ) -> None:
        """One request changing what is given (CommandError when ``name`` is missing)."""
        index = self._index(name)
        spec: dict[str, Any] = {}
        if master:
            spec["master"] = self._index(master)
        if nomaster:
            spec["master"] = 0
        if mtu:
            spec["mtu"] = int(mtu)
        if address:
            spec["address"] = address
        if up is not None:
            spec["state"] = "up" if up else "down"
        if spec:
            with self._rtnl("link set", name) as ipr:
                ipr.link("set", index=index, **spec)

    @_off_event_loop
    def delete_link(self, name: str) -> None:
        """Delete ``name`` if it exists (failures are logged, not raised)."""
        try:
            index = self._index(name)
            with self._rtnl("link delete", name) as ipr:
                ipr.link("del", index=index)
        except CommandError as exc:
            if exc.returncode not in _GONE:
                LOG.debug("cannot delete %s in %s: %s", name, self.namespace, exc)

    # addresses and routes

    @_off_event_loop
    def addresses(self, dev: str) -> list[str]:
        """Global addresses of ``dev`` as CIDR strings (no IPv6 link-local)."""
        index = self._index(dev)
        with self._rtnl("addr show", dev) as ipr:
            return _cidrs(ipr.addr("dump", index=index), index)

    @_off_event_loop
    def sync_addresses(self, dev: str, wanted: Sequence[str]) -> list[str]:
        """Make ``dev``'s addresses exactly ``wanted``; returns the ones added."""
        index = self._index(dev)
        with self._rtnl("addr", dev) as ipr:
            current = set(_cidrs(ipr.addr("dump", index=index), index))
            added = []
            for cidr in current - set(wanted):
                try:
                    ipr.addr("del", index=index, **_address(cidr))
                except NetlinkError as exc:
                    LOG.debug("cannot remove %s from %s: %s", cidr, dev, exc)
            for cidr in wanted:
                if cidr in current or cidr in added:
                    continue
                try:
                    ipr.addr("add", index=index, **_address(cidr))
                except NetlinkError as exc:
                    if exc.code != errno.EEXIST:
                        raise
                    continue
                added.append(cidr)
            return added

    @_off_event_loop
    def replace_address(self, dev: str, cidr: str) -> None:
        """Add ``cidr`` to ``dev`` or update it (``ip addr replace``)."""
        index = self._index(dev)
        with self._rtnl("addr replace", cidr, "dev", dev) as ipr:
            ipr.addr("replace", index=index, **_address(cidr))

    @_off_event_loop
    def routes(self, *selector: str, version: int = 4) -> list[dict[str, Any]]:
        """Routes of the main table (``ip [-6] -j route show [proto P] [dev D]`` shapes)."""
        options = _route_options(selector)
        table = options.get("table", RT_TABLE_MAIN)
        family = socket.AF_INET6 if version == 6 else socket.AF_INET
        with self._rtnl("route show", *selector) as ipr:
            names = {m["index"]: str(m.get("ifname")) for m in ipr.link("dump")}
            msgs = ipr.route("dump", family=family)
        out = []
        for msg in msgs:
            if (msg.get("table") or msg["table"]) != table:
                continue
            if "proto" in options and msg["proto"] != options["proto"]:
                continue
            if "dev" in options and names.get(msg.get("oif")) != options["dev"]:
                continue
            out.append(_route_dict(msg, names))
        return out

    @_off_event_loop
    def route_replace(self, dest: str, via: str, *extra: str) -> None:
        """``ip route replace dest via via [dev D] [proto P] [table T] [metric M]``."""
        options = _route_options(extra)
        family = socket.AF_INET6 if ":" in via else socket.AF_INET
        spec: dict[str, Any] = {
            "family": family,
            "gateway": via,
            "proto": options.get("proto", RTPROT_BOOT),
            "table": options.get("table", RT_TABLE_MAIN),
            **_destination(dest, family),
        }
        if "priority" in options:
            spec["priority"] = options["priority"]
        with self._rtnl("route replace", dest, "via", via, *extra) as ipr:
            if "dev" in options:
                spec["oif"] = self._index(options["dev"])
            ipr.route("replace", **spec)

    @_off_event_loop
    def route_delete(self, dest: str, *extra: str) -> None:
        """``ip route del dest [dev D] [proto P] ...``; a missing route is no error."""
        options = _route_options(extra)
        family = socket.AF_INET6 if ":" in dest else socket.AF_INET
        spec: dict[str, Any] = {
            "family": family,
            "table": options.get("table", RT_TABLE_MAIN),
            "scope": RT_SCOPE_NOWHERE,  # any scope, as `ip route del` asks
            **_destination(dest, family),
        }
        if "proto" in options:
            spec["proto"] = options["proto"]
        if "priority" in options:
            spec["priority"] = options["priority"]
        try:
            with self._rtnl("route del", dest, *extra) as ipr:
                if "dev" in options:
                    spec["oif"] = self._index(options["dev"])
                ipr.route("del", **spec)
        except CommandError as exc:
            if exc.returncode not in _GONE:
                LOG.debug("cannot delete route %s in %s: %s", dest, self.namespace, exc)

    # procfs

    def write_proc(self, path: str, value: str) -> None:
        """Write a /proc/sys file of this namespace (interface names may hold dots)."""
        try:
            in_namespace(self.namespace, lambda: Path(path).write_text(value))
        except OSError as exc:
            LOG.debug("cannot write %s in %s: %s", path, self.namespace, exc)

    def disable_ipv6(self, dev: str) -> None:
        self.write_proc(f"/proc/sys/net/ipv6/conf/{check_name(dev)}/disable_ipv6", "1")

    # forwarding database (VXLAN head-end replication)

    @_off_event_loop
    def flood_destinations(self, dev: str) -> set[str]:
        """The remote VTEPs ``dev`` floods to (its all-zero MAC entries); none if it is gone."""
        try:
            index = self._index(dev)
            with self._rtnl("fdb show", dev) as ipr:
                msgs = ipr.fdb("dump", ifindex=index)
        except CommandError:
            return set()
        return {
            str(msg.get("dst"))
            for msg in msgs
            if msg["ifindex"] == index and msg.get("lladdr") == ZERO_MAC and msg.get("dst")
        }

    @_off_event_loop
    def flood_to(self, dev: str, dst: str) -> None:
        """``bridge fdb append 00:00:00:00:00:00 dev dev dst dst`` (failures logged)."""
        self._fdb("append", dev, dst)

    @_off_event_loop
    def unflood(self, dev: str, dst: str) -> None:
        self._fdb("del", dev, dst)

    def _fdb(self, command: str, dev: str, dst: str) -> None:
        try:
            index = self._index(dev)
            with self._rtnl("fdb", command, ZERO_MAC, "dev", dev, "dst", dst) as ipr:
                ipr.fdb(command, ifindex=index, lladdr=ZERO_MAC, dst=dst)
        except CommandError as exc:
            LOG.debug("fdb %s %s on %s failed: %s", command, dst, dev, exc)


# -- processes inside namespaces ---------------------------------------------------------------


def pid_alive(pid: int, marker: str = "") -> bool:
    """True when ``pid`` runs and its command line contains ``marker``."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return marker in cmdline


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def stop_pid(pid: int, marker: str, timeout: float = 5.0) -> None:
    """SIGTERM (then SIGKILL) one process we started, identified by its command line."""
    import signal
    import time

    if not pid_alive(pid, marker):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid, marker):
            return
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop_daemon(pid_file: Path, marker: str, reaper: Reaper) -> None:
    """Stop the daemon a pid file names (if it is still ours), reap it, drop the file."""
    pid = read_pid(pid_file)
    if pid is not None:
        stop_pid(pid, marker)
    reaper.reap()
    pid_file.unlink(missing_ok=True)


class Reaper:
    """Waits for short-lived helper processes (gratuitous ARP) in the background."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: list[subprocess.Popen[bytes]] = []
        self._daemons: list[subprocess.Popen[bytes]] = []

    def spawn(self, cmd: Sequence[str], namespace: str | None = None) -> None:
        full = ["ip", "netns", "exec", namespace, *cmd] if namespace else list(cmd)
        try:
            proc = subprocess.Popen(
                full, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True
            )
        except OSError as exc:
            LOG.warning("cannot run %s: %s", full[0], exc)
            return
        with self._lock:
            self._procs = [p for p in self._procs if p.poll() is None]
            self._procs.append(proc)

    def start(self, cmd: Sequence[str], namespace: str | None, log: Any) -> int:
        """Start a long-running helper (its own session, output to ``log``); its pid."""
        full = ["ip", "netns", "exec", namespace, *cmd] if namespace else list(cmd)
        proc = subprocess.Popen(
            full, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True
        )
        with self._lock:
            self._daemons.append(proc)
        return proc.pid

    def reap(self) -> None:
        """Collect the long-running helpers that exited."""
        with self._lock:
            self._daemons = [p for p in self._daemons if p.poll() is None]

    def wait(self, timeout: float = 5.0) -> None:
        """Wait for the short-lived helpers (long-running ones keep running)."""
        with self._lock:
            procs, self._procs = self._procs, []
        for proc in procs:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
