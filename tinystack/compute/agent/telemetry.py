"""The telemetry poller of a compute host (Ceilometer's compute polling agent): every
``[telemetry] polling_interval`` it measures each guest of the host's agents through
its virt driver (:meth:`ComputeDriver.get_stats`) and pushes Ceilometer's meters into
the metric service, one batch per poll:

- on the instance: ``cpu`` (ns, cumulative), ``vcpus`` (vcpu), ``memory`` (MB),
  ``memory.resident`` (MB);
- on each ``instance_disk`` (``<instance>-<device>``): ``disk.device.read.bytes``,
  ``disk.device.read.requests``, ``disk.device.write.bytes``,
  ``disk.device.write.requests`` (B / request, cumulative);
- on each ``instance_network_interface`` (``<instance name>-<instance>-<tap>``, as
  Ceilometer names them): ``network.incoming.bytes``, ``network.outgoing.bytes``,
  ``network.incoming.packets``, ``network.outgoing.packets``, and the ``.drop`` and
  ``.error`` packet counts.

Resources are created (or their attributes refreshed) the first time a guest is seen
by this poller; the samples then go through the pipeline (``common/pipeline.py``,
``[telemetry] pipeline_file``; by default straight to the metric service), whose
metrics are created by the first push (the metric service's batch with
``create_metrics``), with ``[telemetry] archive_policy``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from tinystack.common.clients.metric import MetricClient, Sample
from tinystack.common.clients.session import ClientError
from tinystack.common.pipeline import Pipeline
from tinystack.common.rpc.context import CallContext
from tinystack.common.rpc.payload import JSON
from tinystack.common.timeutils import utcnow
from tinystack.compute import states
from tinystack.compute.conf import TelemetryOptions
from tinystack.compute.objects import AgentInstance, GuestStats
from tinystack.compute.virt.driver import ComputeDriver

LOG = logging.getLogger(__name__)

#: (meter, unit, counter of a disk)
DISK_METERS = (
    ("disk.device.read.bytes", "B", "read_bytes"),
    ("disk.device.read.requests", "request", "read_requests"),
    ("disk.device.write.bytes", "B", "write_bytes"),
    ("disk.device.write.requests", "request", "write_requests"),
)
NIC_METERS = (
    ("network.incoming.bytes", "B", "incoming_bytes"),
    ("network.outgoing.bytes", "B", "outgoing_bytes"),
    ("network.incoming.packets", "packet", "incoming_packets"),
    ("network.outgoing.packets", "packet", "outgoing_packets"),
    ("network.incoming.packets.drop", "packet", "incoming_drops"),
    ("network.outgoing.packets.drop", "packet", "outgoing_drops"),
    ("network.incoming.packets.error", "packet", "incoming_errors"),
    ("network.outgoing.packets.error", "packet", "outgoing_errors"),
)
Guests = Callable[[], list[tuple[ComputeDriver, str, AgentInstance]]]


class Poller:
    def __init__(self, client: MetricClient, opts: TelemetryOptions, guests: Guests) -> None:
        self.client = client
        self.opts = opts
        self.guests = guests
        self.pipeline = Pipeline.load(opts.pipeline_file, client, opts.archive_policy)
        #: resources known to exist (created by this poller or found)
        self._known: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.opts.polling_interval <= 0:
            return
        self._thread = threading.Thread(target=self._run, name="telemetry-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.opts.polling_interval):
            try:
                self.poll()
            except Exception:
                LOG.exception("telemetry poll failed")

    def poll(self) -> int:
        """Measure every running guest once and push the samples; returns how many."""
        if not self.client.available():
            return 0
        ctx = CallContext.internal()
        samples: list[Sample] = []
        for driver, host, inst in self.guests():
            if inst.vm_state != states.ACTIVE:
                continue
            found = driver.get_stats(ctx, inst.meta)
            if found is None:
                continue
            try:
                self._ensure_resources(inst, host, found)
            except ClientError as exc:
                LOG.warning("telemetry: cannot record instance %s: %s", inst.uuid, exc)
                continue
            samples += meters(inst, found)
        if samples:
            self.pipeline.publish(samples)
        return len(samples)

    def _ensure(self, rtype: str, rid: str, attributes: dict[str, JSON]) -> None:
        if rid not in self._known:
            self.client.ensure_resource(rtype, rid, attributes)
            self._known.add(rid)

    def _ensure_resources(self, inst: AgentInstance, host: str, found: GuestStats) -> None:
        meta = inst.meta
        owner: dict[str, JSON] = {"project_id": inst.project_id, "user_id": inst.user_id}
        self._ensure("instance", inst.uuid, {
            **owner,
            "display_name": meta.display_name,
            "flavor_id": meta.flavor.flavorid,
            "flavor_name": meta.flavor.name,
            "host": host,
            "image_ref": meta.image.id if meta.image is not None else None,
        })  # fmt: skip
        for disk in found.disks:
            self._ensure("instance_disk", f"{inst.uuid}-{disk.device}",
                         {**owner, "name": disk.device, "instance_id": inst.uuid})  # fmt: skip
        for nic in found.nics:
            self._ensure("instance_network_interface", nic_resource(inst, nic.tap),
                         {**owner, "name": nic.tap, "instance_id": inst.uuid})  # fmt: skip


def nic_resource(inst: AgentInstance, tap: str) -> str:
    return f"{inst.meta.name}-{inst.uuid}-{tap}"


def meters(inst: AgentInstance, found: GuestStats) -> list[Sample]:
    """Ceilometer's meters of one guest's counters."""
    now = utcnow()
    samples = [
        Sample(inst.uuid, "cpu", "ns", float(found.cpu_ns), now),
        Sample(inst.uuid, "vcpus", "vcpu", float(found.vcpus), now),
        Sample(inst.uuid, "memory", "MB", float(found.memory_mb), now),
        Sample(inst.uuid, "memory.resident", "MB", found.memory_resident_mb, now),
    ]
    for disk in found.disks:
        rid = f"{inst.uuid}-{disk.device}"
        samples += [
            Sample(rid, name, unit, float(getattr(disk, attr)), now)
            for name, unit, attr in DISK_METERS
        ]
    for nic in found.nics:
        rid = nic_resource(inst, nic.tap)
        samples += [
            Sample(rid, name, unit, float(getattr(nic, attr)), now)
            for name, unit, attr in NIC_METERS
        ]
    return samples
