"""Maps an incoming request to an endpoint method, honouring API versions."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from .exceptions import NoSuchMethod, UnsupportedVersion, failure_to_dict
from .target import Target, version_is_compatible
from .transport import IncomingMessage

LOG = logging.getLogger(__name__)

DEFAULT_ENDPOINT_VERSION = "1.0"


def endpoint_version(endpoint: object) -> str:
    """The API version an endpoint implements: its ``target.version``, else 1.0."""
    target = getattr(endpoint, "target", None)
    if isinstance(target, Target):
        return target.version
    return DEFAULT_ENDPOINT_VERSION


class Dispatcher:
    """Calls ``method(ctxt, **args)`` on the first suitable endpoint.

    An endpoint is suitable if it has a public callable attribute named like the
    method and its version is compatible with the requested one. If endpoints have
    the method but none at a compatible version, :class:`UnsupportedVersion` is
    raised; if none has it, :class:`NoSuchMethod`.
    """

    def __init__(self, endpoints: Sequence[object]) -> None:
        self.endpoints = list(endpoints)
        for endpoint in self.endpoints:
            endpoint_version(endpoint)  # fail early on a malformed endpoint target

    def lookup(self, method: str, version: str) -> Callable[..., Any]:
        if method.startswith("_") or method == "target":
            raise NoSuchMethod(method)
        found_incompatible = False
        for endpoint in self.endpoints:
            func: object = getattr(endpoint, method, None)
            if func is None or not callable(func):
                continue
            if version_is_compatible(endpoint_version(endpoint), version):
                return func
            found_incompatible = True
        if found_incompatible:
            raise UnsupportedVersion(version, method)
        raise NoSuchMethod(method)

    def dispatch(self, message: IncomingMessage) -> Any:
        """Run the request; exceptions propagate to the caller of this method."""
        try:
            func = self.lookup(message.method, message.version)
        except ValueError:  # unparsable requested version
            raise UnsupportedVersion(message.version, message.method) from None
        return func(message.ctxt, **message.args)

    def handle(self, message: IncomingMessage) -> None:
        """Dispatch and, for calls, send the result or failure back. Never raises."""
        try:
            result = self.dispatch(message)
        except Exception as exc:
            if message.reply is None:
                LOG.exception("RPC cast %s failed", message.method)
                return
            LOG.debug("RPC call %s failed", message.method, exc_info=True)
            self._send(message, {"failure": failure_to_dict(exc, traceback.format_exc())})
            return
        if message.reply is not None:
            self._send(message, {"result": result})

    @staticmethod
    def _send(message: IncomingMessage, reply: dict[str, Any]) -> None:
        assert message.reply is not None
        try:
            message.reply(reply)
        except (TypeError, ValueError) as exc:
            # The result cannot be serialized: tell the caller instead of timing out.
            LOG.warning("RPC call %s: cannot send reply: %s", message.method, exc)
            failure = failure_to_dict(exc, traceback.format_exc())
            try:
                message.reply({"failure": failure})
            except Exception:
                LOG.exception("RPC call %s: cannot send failure reply", message.method)
        except Exception:
            LOG.exception("RPC call %s: cannot send reply", message.method)
