"""RPC layer on RabbitMQ (127.0.0.1:5672, guest/guest): the shared behaviour tests
plus timeouts, reconnection and broker-down handling.

Each test uses its own control exchange and topic and deletes the queues and
exchanges it made; broker tests are skipped when nothing listens on the port.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from functools import cache
from typing import Any

import kombu
import pytest

from tinystack.common.rpc import (
    MessagingTimeout,
    RPCClient,
    Target,
    TransportError,
    get_transport,
)
from tinystack.common.rpc._kombu import BrokerParams
from tinystack.common.rpc.amqp import RabbitTransport

from .test_rpc import WAIT, Env, Recorder, RPCBehaviour, TransportFactory

HOST, PORT = "127.0.0.1", 5672
URL = f"rabbit://guest:guest@{HOST}:{PORT}/"
FAST: dict[str, Any] = {"poll_interval": 0.05, "max_retry_interval": 0.5, "connect_timeout": 1.0}


@cache
def rabbit_listening() -> bool:
    try:
        with socket.create_connection((HOST, PORT), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def rabbit() -> None:
    if not rabbit_listening():
        pytest.skip(f"no RabbitMQ listening on {HOST}:{PORT}")


def delete_broker_entities(queues: list[str], exchanges: list[str]) -> None:
    """Delete queues and exchanges (idempotent on RabbitMQ; errors are ignored)."""
    with kombu.Connection(f"amqp://guest:guest@{HOST}:{PORT}//", connect_timeout=2) as conn:
        for kind, name in [("queue", q) for q in queues] + [("exchange", e) for e in exchanges]:
            channel = conn.channel()
            try:
                if kind == "queue":
                    channel.queue_delete(name)
                else:
                    channel.exchange_delete(name)
            except conn.channel_errors:
                pass
            finally:
                conn.maybe_close_channel(channel)


@pytest.mark.rabbit
@pytest.mark.usefixtures("rabbit")
class TestRabbit(RPCBehaviour):
    control_exchange = ""

    @pytest.fixture
    def transports(self) -> Iterator[TransportFactory]:
        self.control_exchange = f"test_{uuid.uuid4().hex[:12]}"
        yield lambda: get_transport(URL, control_exchange=self.control_exchange, **FAST)

    def cleanup_broker(self, topic: str, servers: list[str]) -> None:
        queues = [topic] + [f"{topic}.{server}" for server in servers]
        delete_broker_entities(queues, [self.control_exchange, f"{topic}_fanout"])

    def test_reconnect_after_connections_drop(self, env: Env) -> None:
        endpoint = Recorder("s1")
        server = env.serve("s1", endpoint)
        client = env.client(timeout=WAIT)
        assert client.call({}, "add", a=1, b=1) == 2
        server_transport, client_transport = server.transport, client.transport
        assert isinstance(server_transport, RabbitTransport)
        assert isinstance(client_transport, RabbitTransport)
        assert server_transport._force_disconnect() >= 2  # consumer + reply publisher
        assert client_transport._force_disconnect() >= 2  # reply consumer + publisher
        start = time.monotonic()
        assert client.call({}, "add", a=2, b=3) == 5
        assert time.monotonic() - start < WAIT
        # A cast sent while the server is still reconnecting waits in its queue.
        server_transport._force_disconnect()
        client.cast({}, "record", after="cut")
        assert endpoint.event.wait(WAIT)
        assert endpoint.calls == [("record", {"after": "cut"})]
        assert client.call({}, "whoami") == "s1"

    def test_a_cast_before_its_server_declared_its_queue_waits(self, env: Env) -> None:
        """Regression (chaos, RabbitMQ restarted during boots): after the restart a
        cast published before its server had declared its queue again was dropped by
        the exchange, and the volume or server it was for stayed ``creating`` for ever."""
        client = env.client(timeout=WAIT)
        client.cast({}, "record", sent="before any server")
        endpoint = Recorder("s1")
        env.serve("s1", endpoint)
        assert endpoint.event.wait(WAIT)
        assert endpoint.calls == [("record", {"sent": "before any server"})]

    def test_amqp_scheme_and_reply_queue_cleanup(self, env: Env) -> None:
        env.serve("s1", Recorder("s1"))
        url = URL.replace("rabbit://", "amqp://")
        transport = get_transport(url, control_exchange=self.control_exchange, **FAST)
        assert isinstance(transport, RabbitTransport)
        try:
            assert RPCClient(transport, Target(env.topic)).call({}, "whoami") == "s1"
            waiter = transport._waiter
            assert waiter is not None
            reply_queue = waiter.queue_name
        finally:
            transport.close()
        with kombu.Connection(f"amqp://guest:guest@{HOST}:{PORT}//") as conn:
            channel = conn.channel()
            with pytest.raises(conn.channel_errors):  # 404: deleted on close
                channel.queue_declare(reply_queue, passive=True)


def test_broker_params_from_url() -> None:
    params = BrokerParams.from_url("rabbit://us%40r:p%3Ass@mq.example:5673/my%2Fvhost")
    assert (params.hostname, params.port, params.virtual_host) == ("mq.example", 5673, "my/vhost")
    assert (params.userid, params.password) == ("us@r", "p:ss")
    assert "p:ss" not in repr(params)
    defaults = BrokerParams.from_url("amqp://host")
    assert (defaults.port, defaults.virtual_host, defaults.userid) == (5672, "/", "guest")
    assert BrokerParams.from_url("rabbit://h:1/").virtual_host == "/"
    with pytest.raises(ValueError):
        BrokerParams.from_url("http://h/")


def test_broker_down_fails_fast_and_cleanly() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before = set(threading.enumerate())
    transport = get_transport(
        f"rabbit://guest:guest@127.0.0.1:{port}/", publish_timeout=0.3, **FAST
    )
    try:
        client = RPCClient(transport, Target("nowhere"), timeout=0.3)
        start = time.monotonic()
        with pytest.raises(MessagingTimeout):
            client.call({}, "anything")
        with pytest.raises(TransportError):
            client.cast({}, "anything")
        assert time.monotonic() - start < 2.0
    finally:
        transport.close()
    assert not [t for t in threading.enumerate() if t not in before and t.is_alive()]
