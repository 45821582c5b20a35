"""Ceph's Python bindings (librados, librbd) for the RBD image store and volume driver.

Ceph publishes no wheels: the bindings come with the distribution (Debian's
``python3-rados`` / ``python3-rbd``). :func:`bindings` imports them as installed, or, in a
virtualenv that does not see the system's ``dist-packages``, loads just those two
extension modules from there when they were built for this interpreter (nothing else of
``dist-packages`` is put on the path). :func:`connect` opens a cluster as a cephx user
with the operator's ``ceph.conf`` (monitors, keyring), so keys stay in keyring files and
never pass through arguments or logs.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from tinystack.common import distpackages


class CephUnavailable(Exception):
    """The bindings are not installed (or not for this Python)."""


@dataclass(frozen=True, slots=True)
class Bindings:
    rados: Any
    rbd: Any


def _module(name: str) -> ModuleType:
    try:
        return distpackages.module(name, f"python3-{name}")
    except distpackages.BindingsUnavailable as exc:
        raise CephUnavailable(str(exc)) from exc


_BINDINGS: list[Bindings] = []


def bindings() -> Bindings:
    """``rados`` and ``rbd`` (rbd's extension imports rados, so rados comes first)."""
    if not _BINDINGS:
        try:
            _BINDINGS.append(Bindings(_module("rados"), _module("rbd")))
        except ImportError as exc:
            raise CephUnavailable(f"the Ceph bindings do not load: {exc}") from exc
    return _BINDINGS[0]


def available() -> str | None:
    """None when librados/librbd are usable here, else why not."""
    try:
        bindings()
    except CephUnavailable as exc:
        return str(exc)
    return None


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """How a service reaches a cluster: its ``ceph.conf`` and cephx user (without the
    ``client.`` prefix, as upstream's ``rbd_user``)."""

    conf_file: str
    user: str
    connect_timeout: float = 10.0
    #: seconds an operation on an OSD or a monitor may take before it fails with
    #: ETIMEDOUT (``rados_osd_op_timeout``/``rados_mon_op_timeout``): with an OSD down,
    #: operations fail in bounded time instead of waiting for it
    op_timeout: float = 30.0

    def options(self) -> dict[str, str]:
        """librados settings of the connection (never the key: that is the keyring's)."""
        op = str(int(max(1, self.op_timeout)))
        return {
            "client_mount_timeout": str(int(max(1, self.connect_timeout))),
            "rados_osd_op_timeout": op,
            "rados_mon_op_timeout": op,
        }


class Connection:
    """One connection to a cluster, opened on first use and kept (librados is
    thread-safe); :meth:`reset` drops it after a failure so the next use reconnects."""

    def __init__(self, spec: ClusterSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._rados: Any = None
        self._fsid = ""

    def rados(self) -> Any:
        with self._lock:
            if self._rados is None:
                rados = bindings().rados
                cluster = rados.Rados(
                    conffile=self.spec.conf_file,
                    rados_id=self.spec.user,
                    conf=self.spec.options(),
                )
                try:
                    cluster.connect(timeout=int(max(1, self.spec.connect_timeout)))
                    self._fsid = str(cluster.get_fsid())
                except Exception:
                    cluster.shutdown()
                    raise
                self._rados = cluster
            return self._rados

    def fsid(self) -> str:
        self.rados()
        return self._fsid

    def ioctx(self, pool: str) -> Any:
        return self.rados().open_ioctx(pool)

    def close(self) -> None:
        with self._lock:
            if self._rados is not None:
                self._rados.shutdown()
                self._rados = None


@contextmanager
def connect(spec: ClusterSpec) -> Iterator[Any]:
    """A connected ``rados.Rados``, shut down on exit."""
    rados = bindings().rados
    cluster = rados.Rados(conffile=spec.conf_file, rados_id=spec.user, conf=spec.options())
    try:
        cluster.connect(timeout=int(max(1, spec.connect_timeout)))
    except Exception:
        cluster.shutdown()
        raise
    try:
        yield cluster
    finally:
        cluster.shutdown()


@contextmanager
def ioctx(spec: ClusterSpec, pool: str) -> Iterator[Any]:
    """An I/O context on ``pool``."""
    with connect(spec) as cluster:
        io = cluster.open_ioctx(pool)
        try:
            yield io
        finally:
            io.close()


def monitors(cluster: Any) -> tuple[list[str], list[str]]:
    """The monitors' addresses (hosts, ports), as a connection info carries them."""
    ret, out, _err = cluster.mon_command(json.dumps({"prefix": "mon dump", "format": "json"}), b"")
    if ret != 0:
        raise OSError(-ret, "mon dump failed")
    hosts: list[str] = []
    ports: list[str] = []
    for mon in json.loads(out)["mons"]:
        addrs = mon.get("public_addrs", {}).get("addrvec") or []
        chosen = next((a for a in addrs if a.get("type") == "v2"), addrs[0] if addrs else None)
        if chosen is None:
            continue
        host, _, port = str(chosen["addr"]).rpartition(":")
        hosts.append(host.strip("[]"))
        ports.append(port)
    return hosts, ports
