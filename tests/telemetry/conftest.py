"""Fixtures for telemetry tests: one cloud for the package on a RabbitMQ virtual host of
its own (so the test reads the cloud's notifications off the bus as a third party would),
fake compute, and HTTP clients."""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import cloudapi
from tests.cloudproc import CloudProcess
from tests.rabbit import delete_vhost_later, rabbit_vhost
from tinystack.common.notifier import Notification, NotificationListener
from tinystack.common.rpc import Transport, get_transport

SERVICES = ["identity", "placement", "image", "compute", "volume", "network", "metric", "alarm"]


class Notifications:
    """What a listener pool of the test saw on the cloud's bus."""

    def __init__(self, transport: Transport) -> None:
        self._queue: queue.Queue[Notification] = queue.Queue()
        self.seen: list[Notification] = []
        self.listener = NotificationListener(transport, self._queue.put, pool="tsf-test")
        self.listener.start()

    def wait_for(
        self, event_type: str, match: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> Notification:
        deadline = time.monotonic() + timeout
        while True:
            for seen in self.seen:
                if seen.event_type == event_type and match(seen.payload):
                    return seen
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                types = sorted({n.event_type for n in self.seen})
                raise AssertionError(f"no {event_type} notification; saw {types}")
            try:
                self.seen.append(self._queue.get(timeout=remaining))
            except queue.Empty:
                continue


class Api(cloudapi.Api):
    pass


class Env:
    def __init__(self, cloud: CloudProcess, transport_url: str) -> None:
        self.cloud = cloud
        self.transport = get_transport(transport_url)
        self.notifications = Notifications(self.transport)
        token = cloud.token("tinystack-admin")
        self.token = token
        self.identity = Api(cloud.endpoint("identity"), token)
        self.image = Api(cloud.endpoint("image"), token)
        self.volume = Api(cloud.endpoint("block-storage"), token)
        self.network = Api(cloud.endpoint("network"), token)
        self.compute = Api(cloud.endpoint("compute"), token)
        self.compute.http.headers["OpenStack-API-Version"] = "compute 2.90"
        self.metric = Api(cloud.endpoint("metric"), token)
        self.alarm = Api(cloud.endpoint("alarming"), token)

    def close(self) -> None:
        self.notifications.listener.stop()
        self.transport.close()

    def wait(self, api: Api, path: str, key: str, *statuses: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = api.get(path, None)
            if response.status_code == 404 and "gone" in statuses:
                return {"status": "gone"}
            body = response.json()[key]
            if body["status"] in statuses:
                return body
            time.sleep(0.05)
        raise AssertionError(f"{path} is {body.get('status')}, wanted {statuses}")


@pytest.fixture(scope="package")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    vhost = f"tsf-{uuid.uuid4().hex[:8]}"
    url = rabbit_vhost(vhost)
    if url is None:
        pytest.skip("cannot make a RabbitMQ virtual host (rabbitmqctl)")
    state = Path(tmp_path_factory.mktemp("tsf-telemetry"))
    conf = (
        f"[DEFAULT]\ntransport_url = {url}\n"
        "outbound_allowed_networks = 127.0.0.1/32\n"  # the alarm tests' webhook listener
        "[volume]\nreport_interval = 1\n"
        "[alarm]\nevaluation_interval = 1\n"
    )
    cloud = CloudProcess(state, SERVICES, conf)
    made: Env | None = None
    try:
        cloud.start(timeout=120)
        made = Env(cloud, url)
        yield made
    finally:
        if made is not None:
            made.close()
        cloud.stop()
        delete_vhost_later(vhost)
