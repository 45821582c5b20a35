"""Version caps for rolling upgrades: ``[upgrade_levels]``, as upstream's.

While hosts are upgraded one at a time, a new caller must not send what an old receiver
cannot read. Every topic's client gets a :class:`VersionCap`: ``[upgrade_levels]
<topic>`` is empty (no cap: send the newest version), a version (``"2.1"``), an alias
the service passes (none yet), or ``auto``: the oldest version the topic's services
report running (their service rows, refreshed every few seconds). A capped
:class:`~tinystack.common.rpc.RPCClient` sends at ``min(newest, cap)``; a method or an
argument newer than the cap is refused with :class:`RPCVersionCapError` or dropped by
the rpcapi (``client.can_send_version``), and payloads go out backported to the
versions the capped RPC version carries (:func:`payloads_for`).

The rule for an rpcapi change: bump the minor version, note it in the rpcapi's
docstring, send the new method or argument only when ``can_send_version(new)``, and for
a payload field added, bump the payload's minor, mark the field ``since(...)`` and name
the older payload version in the rpcapi's payload history for the previous RPC version.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from oslo_config import cfg

from .payload import version_tuple

GROUP = "upgrade_levels"
AUTO = "auto"


def opts(topics: Mapping[str, str]) -> list[cfg.Opt]:
    """``[upgrade_levels] <topic>`` for each topic (name -> what its receivers are)."""
    return [
        cfg.StrOpt(
            name,
            default="",
            help=f"Highest RPC version sent to {what} during a rolling upgrade: a version "
            "('2.1') or 'auto' (the oldest version those services report). Empty: no cap.",
        )
        for name, what in topics.items()
    ]


def register_opts(conf: cfg.ConfigOpts, topics: Mapping[str, str]) -> None:
    conf.register_opts(opts(topics), group=GROUP)


def level(conf: cfg.ConfigOpts, topic: str) -> str:
    """The configured ``[upgrade_levels]`` value of ``topic`` ('' when unset)."""
    return str(getattr(conf.upgrade_levels, topic) or "").strip()


def lowest(versions: list[str]) -> str | None:
    return min(versions, key=version_tuple) if versions else None


class VersionCap:
    """The highest version a client may send to one topic.

    ``configured`` is the ``[upgrade_levels]`` value, ``aliases`` release names ->
    versions, ``reported`` (for ``auto``) the versions the topic's services report;
    ``auto`` with no service reporting yet leaves the client uncapped.
    """

    def __init__(
        self,
        topic: str,
        configured: str,
        aliases: Mapping[str, str] | None = None,
        reported: Callable[[], list[str]] | None = None,
        refresh: float = 2.0,
    ) -> None:
        self.topic = topic
        self.configured = configured
        self._reported = reported
        self._refresh = refresh
        self._lock = threading.Lock()
        self._cached: tuple[float, str | None] | None = None
        self._fixed: str | None = None
        if configured and configured != AUTO:
            self._fixed = (aliases or {}).get(configured, configured)
            try:
                version_tuple(self._fixed)
            except ValueError:
                raise ValueError(
                    f"[{GROUP}] {topic} = {configured!r}: not a version (MAJOR.MINOR) or 'auto'"
                ) from None

    def __call__(self) -> str | None:
        """The cap now (None: none)."""
        if self._fixed is not None or self.configured != AUTO or self._reported is None:
            return self._fixed
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > self._refresh:
                self._cached = (now, lowest(self._reported()))
            return self._cached[1]


def payloads_for(history: Mapping[str, Mapping[str, str]], version: str) -> dict[str, str]:
    """The payload versions a receiver at RPC ``version`` reads.

    ``history`` maps an RPC version to the payload versions that were current up to it
    (each entry written when a later RPC version bumped those payloads); every entry
    at or above ``version`` applies, the oldest payload version winning.
    """
    wanted = version_tuple(version)
    found: dict[str, str] = {}
    for rpc_version, payloads in history.items():
        if version_tuple(rpc_version) < wanted:
            continue
        for name, payload_version in payloads.items():
            old = found.get(name)
            if old is None or version_tuple(payload_version) < version_tuple(old):
                found[name] = payload_version
    return found


@dataclass(frozen=True, slots=True)
class RunningVersion:
    """One registered service process: the RPC version it serves against this code's."""

    service: str
    host: str
    binary: str
    rpc_version: str
    current: str
    up: bool
    object_versions: dict[str, str] = field(default_factory=dict)

    @property
    def older(self) -> bool:
        return version_tuple(self.rpc_version) < version_tuple(self.current)


@dataclass(frozen=True, slots=True)
class CapReport:
    """One ``[upgrade_levels]`` option: its value, the cap it means now, the newest."""

    service: str
    topic: str
    configured: str
    cap: str | None
    newest: str
