"""tinystack's own RPC layer: typed, thread-based, oslo.messaging-like.

Clients send requests to a :class:`Target` (a topic, optionally one server of it,
or all of them with ``fanout``) through a :class:`Transport`; an
:class:`RPCServer` runs them on its endpoint objects::

    transport = get_transport("rabbit://guest:guest@127.0.0.1:5672/")  # or "inproc://"
    server = RPCServer(transport, Target("conductor", server="host1"), [ConductorEndpoint()])
    server.start()
    client = RPCClient(transport, Target("conductor", version="1.2"))
    client.call({"request_id": "req-1"}, "build_instance", uuid="...")
    client.prepare(fanout=True).cast({}, "refresh_cache")
    server.stop()
    server.wait()
    transport.close()

Endpoint methods are called as ``method(ctxt, **kwargs)``; an endpoint may declare
``target = Target("conductor", version="1.3")`` to serve clients asking for 1.0-1.3.
"""

from .client import RPCClient
from .dispatcher import Dispatcher
from .exceptions import (
    InvalidTarget,
    MessagingTimeout,
    NoSuchMethod,
    RemoteError,
    RPCError,
    RPCVersionCapError,
    TransportError,
    UnsupportedVersion,
)
from .factory import get_transport
from .server import RPCServer
from .target import Target, version_is_compatible
from .transport import IncomingMessage, Listener, Transport

__all__ = [
    "Dispatcher",
    "IncomingMessage",
    "InvalidTarget",
    "Listener",
    "MessagingTimeout",
    "NoSuchMethod",
    "RPCClient",
    "RPCError",
    "RPCServer",
    "RPCVersionCapError",
    "RemoteError",
    "Target",
    "Transport",
    "TransportError",
    "UnsupportedVersion",
    "get_transport",
    "version_is_compatible",
]
