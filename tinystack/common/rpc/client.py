"""RPC client: ``call`` (request/reply) and ``cast`` (fire and forget)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tinystack.common import metrics

from .exceptions import InvalidTarget, RPCError, RPCVersionCapError, failure_from_dict
from .target import Target, parse_version
from .transport import Transport, make_request

VersionCapFn = Callable[[], str | None]
"""The current cap of a client's topic (``[upgrade_levels]``), None for none."""


class RPCClient:
    """Sends requests to ``target``; cheap to build, thread-safe, immutable.

    ``target.version`` is the API version requested from the server's endpoints and
    ``timeout`` the default number of seconds a :meth:`call` waits for its reply.
    ``version_cap`` (:class:`~tinystack.common.rpc.versions.VersionCap`): requests go
    out at ``min(target.version, cap)``; a version asked for with ``prepare(version=)``
    above the cap raises :class:`RPCVersionCapError` instead of reaching an old server.
    """

    def __init__(
        self,
        transport: Transport,
        target: Target,
        timeout: float = 60,
        version_cap: VersionCapFn | None = None,
        *,
        pinned: bool = False,
    ) -> None:
        if not target.topic:
            raise InvalidTarget("an RPC client target needs a topic")
        self.transport = transport
        self.target = target
        self.timeout = timeout
        self.version_cap = version_cap
        self._pinned = pinned  # target.version was asked for explicitly

    def can_send_version(self, version: str) -> bool:
        """Whether ``version`` is within the cap (and the client's own version)."""
        wanted = parse_version(version)
        if wanted > parse_version(self.target.version):
            return False
        cap = self.version_cap() if self.version_cap is not None else None
        return cap is None or wanted <= parse_version(cap)

    def send_version(self) -> str:
        """The version requests go out at now."""
        version = self.target.version
        cap = self.version_cap() if self.version_cap is not None else None
        if cap is None or parse_version(version) <= parse_version(cap):
            return version
        if self._pinned:
            raise RPCVersionCapError(version, cap, self.target.topic)
        return cap

    def prepare(
        self,
        server: str | None = None,
        fanout: bool | None = None,
        timeout: float | None = None,
        version: str | None = None,
    ) -> RPCClient:
        """A client like this one with some attributes overridden (None keeps them)."""
        changes: dict[str, Any] = {}
        if server is not None:
            changes["server"] = server
        if fanout is not None:
            changes["fanout"] = fanout
        if version is not None:
            parse_version(version)
            changes["version"] = version
        target = replace(self.target, **changes) if changes else self.target
        return RPCClient(
            self.transport,
            target,
            self.timeout if timeout is None else timeout,
            self.version_cap,
            pinned=self._pinned or version is not None,
        )

    def call(self, ctxt: dict[str, Any], method: str, /, **kwargs: Any) -> Any:
        """Run ``method(ctxt, **kwargs)`` on one server and return its result.

        Raises :class:`MessagingTimeout` when no reply arrives within the timeout,
        :class:`RemoteError` (or its subclasses :class:`NoSuchMethod` and
        :class:`UnsupportedVersion`) when the server failed.
        """
        if self.target.fanout:
            raise InvalidTarget("a fanout target can only be cast to")
        request = make_request(ctxt, method, kwargs, self.send_version())
        started = time.perf_counter()
        try:
            reply = self.transport.call(self.target, request, self.timeout)
        finally:
            metrics.RPC.observe((self.target.topic, method), time.perf_counter() - started)
        if "failure" in reply:
            failure = reply["failure"]
            if not isinstance(failure, dict):
                raise RPCError(f"malformed RPC failure reply to {method}")
            raise failure_from_dict(failure)
        if "result" not in reply:
            raise RPCError(f"malformed RPC reply to {method}")
        return reply["result"]

    def cast(self, ctxt: dict[str, Any], method: str, /, **kwargs: Any) -> None:
        """Run ``method(ctxt, **kwargs)`` on one server (every server if fanout), async."""
        request = make_request(ctxt, method, kwargs, self.send_version())
        self.transport.cast(self.target, request)

    def __repr__(self) -> str:
        return f"RPCClient({self.target!r}, timeout={self.timeout})"
