"""Notifications (``common/notifier.py``) on both transports: the oslo.messaging
envelope, one copy per listener pool, and a third party's plain kombu consumer reading
the ``notifications.info`` queue of RabbitMQ."""

from __future__ import annotations

import json
import queue
import uuid

import kombu
import pytest

from tests.common.test_rpc_rabbit import HOST, PORT, URL, delete_broker_entities, rabbit_listening
from tinystack.common.notifier import Notification, NotificationListener, Notifier
from tinystack.common.rpc import Transport, get_transport
from tinystack.common.rpc.context import CallContext

CTX = CallContext(request_id="req-1", user_id="u1", project_id="p1", roles=("member",), token="t")


def _listen(
    transport: Transport, pool: str
) -> tuple[NotificationListener, queue.Queue[Notification]]:
    got: queue.Queue[Notification] = queue.Queue()
    listener = NotificationListener(transport, got.put, pool=pool)
    listener.start()
    return listener, got


def test_inproc_every_pool_gets_a_copy_in_the_envelope() -> None:
    transport = get_transport(f"inproc://tsf-{uuid.uuid4().hex}")
    try:
        first, got_first = _listen(transport, "a")
        second, got_second = _listen(transport, "b")
        notifier = Notifier(lambda: transport, "compute.h1")
        notifier.info(CTX, "compute.instance.create.end", {"instance_id": "i1"})
        notifier.error(None, "compute.instance.create.error", {"instance_id": "i2"})
        for got in (got_first, got_second):
            created = got.get(timeout=5)
            assert created.event_type == "compute.instance.create.end"
            assert created.publisher_id == "compute.h1"
            assert created.priority == "INFO"
            assert created.payload == {"instance_id": "i1"}
            assert created.context["project_id"] == "p1"
            assert "token" not in created.context  # a token never rides a notification
            assert uuid.UUID(created.message_id)
            assert len(created.timestamp) == len("2026-01-01 00:00:00.000000")
            assert got.get(timeout=5).priority == "ERROR"
        first.stop()
        second.stop()
        notifier.info(CTX, "nobody.listens", {})  # dropped, never raises
    finally:
        transport.close()


def test_noop_driver_and_broken_transport_never_fail_the_caller() -> None:
    def broken() -> Transport:
        raise OSError("broker gone")

    Notifier(broken, "x").info(None, "a.b", {})
    assert not Notifier.disabled("x").enabled


def test_rabbit_listener_pool_and_a_third_party_consumer() -> None:
    if not rabbit_listening():
        pytest.skip(f"no RabbitMQ listening on {HOST}:{PORT}")
    unique = uuid.uuid4().hex[:8]  # queues are per virtual host: names of this test only
    exchange, topic, pool = f"tsf-{unique}", f"tsf-notifications-{unique}", f"tsf-pool-{unique}"
    transport = get_transport(URL, control_exchange=exchange)
    try:
        got: queue.Queue[Notification] = queue.Queue()
        listener = NotificationListener(transport, got.put, topics=(topic,), pool=pool)
        listener.start()
        notifier = Notifier(lambda: transport, "volume.h1", topics=(topic,))
        notifier.info(CTX, "volume.create.end", {"volume_id": "v1", "size": 1})
        received = got.get(timeout=10)
        assert (received.event_type, received.payload["size"]) == ("volume.create.end", 1)
        listener.stop()
        # the topic's own queue kept the message for whoever reads it later
        with kombu.Connection(f"amqp://guest:guest@{HOST}:{PORT}//", connect_timeout=2) as conn:
            message = conn.SimpleQueue(
                f"{topic}.info", no_ack=True, queue_opts={"durable": False, "max_length": 10000}
            ).get(timeout=5)
            envelope = message.payload
            assert envelope["oslo.version"] == "2.0"
            inner = json.loads(envelope["oslo.message"])
            assert inner["event_type"] == "volume.create.end"
            assert inner["publisher_id"] == "volume.h1"
            assert inner["_context_request_id"] == "req-1"
    finally:
        transport.close()
        delete_broker_entities(
            [f"{topic}.info", f"{pool}.{topic}.info", f"{pool}.{topic}.error"], [exchange]
        )
