"""``get_transport(url)``: the transport a URL names (kept apart from the transport
interface, which the transports themselves import)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from .inproc import InProcTransport
from .transport import Transport


def get_transport(url: str, *, control_exchange: str = "tinystack", **options: Any) -> Transport:
    """Build the transport named by ``url``.

    * ``inproc://`` or ``inproc://NAME``: in-process transport; transports built with
      the same NAME (and control exchange) in one process reach each other.
    * ``rabbit://user:pass@host:port/vhost`` or ``amqp://...``: RabbitMQ through kombu.
      ``options`` are passed to :class:`~tinystack.common.rpc.amqp.RabbitTransport`.

    ``control_exchange`` namespaces topics (the AMQP topic exchange name).
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme == "inproc":
        if options:
            raise TypeError(f"inproc transport takes no options, got {sorted(options)}")
        return InProcTransport(url, control_exchange=control_exchange)
    if scheme in ("rabbit", "amqp"):
        # kombu is imported only by clouds that use RabbitMQ (start-up time)
        from .amqp import RabbitTransport

        return RabbitTransport(url, control_exchange=control_exchange, **options)
    raise ValueError(f"unsupported RPC transport URL scheme {scheme!r}")
