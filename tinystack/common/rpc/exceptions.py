"""Exceptions raised by the RPC layer.

Errors raised by an endpoint travel back to the caller as a :class:`RemoteError`
carrying the remote exception's class name, message and formatted traceback.
:class:`NoSuchMethod` and :class:`UnsupportedVersion` are dispatcher errors: they are
raised on the server and re-raised as themselves in the caller (both are also
:class:`RemoteError`, so one ``except RemoteError`` covers every server-side failure).
"""

from __future__ import annotations

from typing import Any


class RPCError(Exception):
    """Base class of every error raised by :mod:`tinystack.common.rpc`."""


class MessagingTimeout(RPCError):
    """A call got no reply within its timeout."""


class InvalidTarget(RPCError, ValueError):
    """The target cannot be used for this operation (e.g. a fanout call)."""


class TransportError(RPCError):
    """The transport failed to deliver a message (e.g. broker unreachable for too long)."""


class RemoteError(RPCError):
    """The endpoint raised: ``exc_type`` is the remote exception's class name."""

    def __init__(self, exc_type: str, message: str = "", traceback: str = "") -> None:
        self.exc_type = exc_type
        self.message = message
        self.traceback = traceback
        super().__init__(f"{exc_type}: {message}" if message else exc_type)

    def __reduce__(self) -> tuple[Any, ...]:
        return (RemoteError, (self.exc_type, self.message, self.traceback))


class NoSuchMethod(RemoteError):
    """No endpoint of the server exposes the requested method."""

    def __init__(self, method: str, traceback: str = "") -> None:
        self.method = method
        super().__init__(
            "NoSuchMethod", f"Endpoint does not support RPC method {method!r}", traceback
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (NoSuchMethod, (self.method, self.traceback))


class UnsupportedVersion(RemoteError):
    """The endpoints implementing the method are not compatible with the requested version."""

    def __init__(self, version: str, method: str = "", traceback: str = "") -> None:
        self.version = version
        self.method = method
        what = f"method {method!r} at version {version}" if method else f"version {version}"
        super().__init__("UnsupportedVersion", f"Endpoint does not support RPC {what}", traceback)

    def __reduce__(self) -> tuple[Any, ...]:
        return (UnsupportedVersion, (self.version, self.method, self.traceback))


def failure_to_dict(exc: BaseException, traceback: str) -> dict[str, Any]:
    """Wire form of an exception raised by an endpoint or the dispatcher."""
    failure: dict[str, Any] = {
        "exc_type": type(exc).__name__,
        "message": str(exc),
        "traceback": traceback,
    }
    if isinstance(exc, NoSuchMethod):
        failure.update(rpc_error="NoSuchMethod", method=exc.method, message=exc.message)
    elif isinstance(exc, UnsupportedVersion):
        failure.update(
            rpc_error="UnsupportedVersion",
            version=exc.version,
            method=exc.method,
            message=exc.message,
        )
    elif isinstance(exc, RemoteError):
        # A nested call failed: report the original remote exception type.
        failure.update(exc_type=exc.exc_type, message=exc.message)
    return failure


def failure_from_dict(failure: dict[str, Any]) -> RemoteError:
    """Exception to raise in the caller for the wire form built by :func:`failure_to_dict`."""
    traceback = str(failure.get("traceback", ""))
    kind = failure.get("rpc_error")
    if kind == "NoSuchMethod":
        return NoSuchMethod(str(failure.get("method", "")), traceback)
    if kind == "UnsupportedVersion":
        return UnsupportedVersion(
            str(failure.get("version", "")), str(failure.get("method", "")), traceback
        )
    return RemoteError(
        str(failure.get("exc_type", "Exception")), str(failure.get("message", "")), traceback
    )


class RPCVersionCapError(RPCError):
    """A request needs a newer API version than ``[upgrade_levels]`` lets the client send
    (a receiver still runs the older version)."""

    def __init__(self, version: str, cap: str, topic: str = "") -> None:
        self.version = version
        self.cap = cap
        super().__init__(
            f"{topic} RPC version {version} is above the cap {cap} ([upgrade_levels])".strip()
        )
