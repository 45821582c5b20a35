"""Transport interface and :func:`get_transport`.

A transport moves request dictionaries from clients to servers and reply
dictionaries back. It knows nothing about endpoints: servers hand it a handler
that receives :class:`IncomingMessage` objects, and the handler must not block
(it normally queues the message on the server's worker pool).

Wire format of a request: ``{"ctxt": {...}, "method": str, "args": {...},
"version": "X.Y"}``; of a reply: ``{"result": value}`` or ``{"failure": {...}}``
(see :func:`tinystack.common.rpc.exceptions.failure_to_dict`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from .target import Target

Reply = Callable[[dict[str, Any]], None]


@dataclass
class IncomingMessage:
    """A request as delivered to a server; ``reply`` is None for casts."""

    ctxt: dict[str, Any]
    method: str
    args: dict[str, Any]
    version: str
    reply: Reply | None = None

    @classmethod
    def from_body(cls, body: object, reply: Reply | None = None) -> IncomingMessage:
        """Validate a decoded request body; raise ValueError if it is malformed."""
        if not isinstance(body, dict):
            raise ValueError(f"RPC request must be a JSON object, not {type(body).__name__}")
        ctxt, method = body.get("ctxt", {}), body.get("method")
        args, version = body.get("args", {}), body.get("version", "1.0")
        if not isinstance(method, str) or not method:
            raise ValueError("RPC request without a method name")
        if not isinstance(ctxt, dict) or not isinstance(args, dict):
            raise ValueError("RPC request 'ctxt' and 'args' must be JSON objects")
        if not isinstance(version, str):
            raise ValueError("RPC request 'version' must be a string")
        return cls(ctxt, method, args, version, reply)


MessageHandler = Callable[[IncomingMessage], None]
#: receives a notification's wire body (``{"oslo.version": ..., "oslo.message": ...}``)
NotificationHandler = Callable[[dict[str, Any]], None]


def make_request(
    ctxt: dict[str, Any], method: str, args: dict[str, Any], version: str
) -> dict[str, Any]:
    return {"ctxt": ctxt, "method": method, "args": args, "version": version}


class Listener(ABC):
    """Handle on a server's subscription, returned by :meth:`Transport.listen`."""

    @abstractmethod
    def stop(self) -> None:
        """Stop consuming; once this returns the handler is not called any more."""


class Transport(ABC):
    """Moves RPC messages; built by :func:`get_transport`. Thread-safe."""

    @abstractmethod
    def cast(self, target: Target, message: dict[str, Any]) -> None:
        """Deliver a request without waiting; ``target.fanout`` reaches every server."""

    @abstractmethod
    def call(
        self, target: Target, message: dict[str, Any], timeout: float | None
    ) -> dict[str, Any]:
        """Deliver a request to one server and return its reply.

        Raises :class:`~tinystack.common.rpc.exceptions.MessagingTimeout` if no reply
        arrives within ``timeout`` seconds (None waits forever).
        """

    @abstractmethod
    def listen(self, target: Target, handler: MessageHandler) -> Listener:
        """Deliver requests for ``target.topic`` (shared), ``target.topic`` + ``target.server``
        (direct) and fanout casts of the topic to ``handler``.

        Returns once the subscription is in place, so that messages sent afterwards
        are not lost.
        """

    @abstractmethod
    def notify(self, topic: str, body: dict[str, Any]) -> None:
        """Publish a notification's wire body on ``topic`` (``notifications.info``).

        Unlike a cast, a notification is kept for consumers that are not there yet
        where the transport can (RabbitMQ: the ``topic`` queue, oslo.messaging's
        layout), and every listener pool receives its own copy.
        """

    @abstractmethod
    def listen_notifications(
        self, topic: str, handler: NotificationHandler, pool: str | None = None
    ) -> Listener:
        """Deliver the notifications of ``topic`` to ``handler`` (which must not block).

        Listeners of one ``pool`` share the messages (each goes to one of them); each
        pool gets every message. The default pool is the ``topic`` queue itself.
        """

    @abstractmethod
    def close(self) -> None:
        """Release connections and threads; listeners still active are stopped."""

    def __enter__(self) -> Transport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
