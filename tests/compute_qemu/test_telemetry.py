"""The compute agent's telemetry poller on a real guest (TCG): a guest that burns CPU and
writes its ephemeral disk is polled every second into a real metric service (a cloud of
identity and metric), and ``openstack metric measures show`` shows its ``cpu`` and
``disk.device.write.bytes`` rising."""

from __future__ import annotations

import base64
import time
import uuid as uuidlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cloudproc import CloudProcess
from tests.compute_qemu.conftest import READY, Harness
from tests.network_dataplane.support import PATIENCE
from tinystack.common.clients.metric import MetricClient
from tinystack.common.clients.session import Session
from tinystack.common.cloud import CatalogEntry, ServiceCredentials
from tinystack.compute import states
from tinystack.compute.agent.telemetry import Poller
from tinystack.compute.conf import TelemetryOptions
from tinystack.compute.objects import AgentInstance

UUID = str(uuidlib.uuid4())
#: burns CPU and writes the ephemeral disk (vdb) forever
WORK = """#!/bin/sh
i=0
while true; do
  dd if=/dev/zero of=/dev/vdb bs=65536 count=16 seek=$((i % 64 * 16)) conv=fsync 2>/dev/null
  i=$((i + 1)); n=0
  while [ $n -lt 20000 ]; do n=$((n + 1)); done
done
"""


@pytest.fixture(scope="module")
def metric_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProcess]:
    cloud = CloudProcess(
        tmp_path_factory.mktemp("tsf-metric"),
        ["identity", "metric"],
        "[metric]\nnotification_agent = false\n",
    )
    try:
        cloud.start(timeout=120)
        yield cloud
    finally:
        cloud.stop()


def test_poller_pushes_a_working_guests_meters(
    harness: Harness, metric_cloud: CloudProcess, tmp_path: Path
) -> None:
    h = harness
    meta = h.instance(UUID, "tsf-poll", ephemeral_gb=1,
                      user_data=base64.b64encode(WORK.encode()).decode())  # fmt: skip
    h.driver.spawn(h.ctx, meta, [], None)
    h.wait_console(meta, READY, timeout=60)
    inst = AgentInstance(
        uuid=UUID, meta=meta, project_id="p-tsf", user_id="u-tsf", host="qemu-test-host",
        node="qemu-test-host", availability_zone="nova", vm_state=states.ACTIVE,
        task_state=None, power_state=states.RUNNING, flavor={}, old_flavor=None,
        system_metadata={}, network_info=[], security_groups=[], request_spec={},
    )  # fmt: skip
    session = Session(
        metric_cloud.auth_url,
        ServiceCredentials("admin", metric_cloud.password("admin"), "admin"),
        [CatalogEntry("metric", "gnocchi", metric_cloud.endpoint("metric"))],
    )
    published = tmp_path / "cpu_util.jsonl"
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(PIPELINE.replace("FILE", str(published)))
    poller = Poller(
        MetricClient(session),
        TelemetryOptions(polling_interval=1, archive_policy="high", pipeline_file=str(pipeline)),
        lambda: [(h.driver, "qemu-test-host", inst)],
    )
    started = time.monotonic()
    poller.start()
    api = httpx.Client(
        base_url=metric_cloud.endpoint("metric"),
        headers={"X-Auth-Token": metric_cloud.token()},
        timeout=30,
    )
    try:
        wait_points(api, "cpu", UUID, 3)
        # under load a TCG guest can take seconds between its 1 MiB writes: poll until
        # a later write shows (bounded), not for a fixed number of polls
        wait_points(api, "disk.device.write.bytes", f"{UUID}-vdb", 3, rising=True)
    finally:
        poller.stop()
        session.close()
        h.driver.destroy(h.ctx, meta, [])
    shown = metric_cloud.osc("metric", "measures", "show", "cpu", "--resource-id", UUID,
                             "--granularity", "1", "--refresh")  # fmt: skip
    cpu = [row["value"] for row in shown]
    writes = wait_points(api, "disk.device.write.bytes", f"{UUID}-vdb", 3, rising=True)
    print(f"\n3 polls in {time.monotonic() - started:.1f}s; cpu {cpu}; written {writes}")
    assert all(b > a for a, b in zip(cpu, cpu[1:], strict=False)), cpu
    assert writes[-1] > writes[0] > 0, writes
    shown = metric_cloud.osc("metric", "resource", "show", "--type", "instance", UUID)
    assert shown["display_name"] == "" and shown["flavor_name"] == meta.flavor.name
    assert shown["host"] == "qemu-test-host" and "cpu" in str(shown["metrics"])
    memory = metric_cloud.osc("metric", "measures", "show", "memory", "--resource-id", UUID,
                              "--refresh")  # fmt: skip
    assert memory[-1]["value"] == float(meta.flavor.memory_mb)
    # the pipeline's second sink: cpu's rate of change as Ceilometer's cpu_util, in
    # the store and in a file
    util = wait_points(api, "cpu_util", UUID, 2)
    assert all(0 <= u <= 100.0 * meta.flavor.vcpus * 1.2 for u in util) and max(util) > 0, util
    lines = published.read_text().splitlines()
    assert lines and '"counter_name": "cpu_util"' in lines[0] and '"counter_unit": "%"' in lines[0]


PIPELINE = """
sources:
  - {name: all, meters: ["*", "!cpu_util"], sinks: [store]}
  - {name: cpu, meters: [cpu], sinks: [cpu_util]}
sinks:
  - {name: store, publishers: ["gnocchi://?archive_policy=high"]}
  - name: cpu_util
    transformers:
      - name: rate_of_change
        parameters:
          target: {name: cpu_util, unit: "%", type: gauge,
                   scale: "100.0 / (10**9 * (resource_metadata.cpu_number or 1))"}
    publishers: ["gnocchi://?archive_policy=high", "file://FILE"]
"""


def wait_points(
    api: httpx.Client, metric: str, resource: str, count: int, rising: bool = False
) -> list[float]:
    """The 1-second means of ``metric`` of ``resource`` once there are ``count`` (and,
    if ``rising``, once the last is above the first)."""
    deadline = time.monotonic() + 60 * PATIENCE
    values: list[float] = []
    path = f"/v1/resource/generic/{resource}/metric/{metric}/measures?granularity=1"
    while time.monotonic() < deadline:
        response = api.get(path)
        if response.status_code == 200:
            values = [row[2] for row in response.json()]
            if len(values) >= count and (not rising or values[-1] > values[0]):
                return values
        time.sleep(0.3)
    raise AssertionError(f"{metric} of {resource}: {values}")
