"""Typed RPC clients of the volume service's workers: the scheduler and the managers.

Every argument is a payload of :mod:`tinystack.volume.payloads` (sent as its
``to_primitive()``) or a scalar; the endpoint methods (``scheduler/manager.py``,
``manager/manager.py``) take the same names. The caller's :class:`CallContext` travels
as the transport's context.

* scheduler 1.0: create_volume(VolumeSpec), extend_volume(ExtendSpec), retype(RetypeSpec),
  create_group(GroupSpec)
* volume 1.0: create_volume(VolumeSpec), delete_volume, extend_volume(ExtendSpec),
  retype(RetypeSpec), upload_image(ImageUpload)

A manager serves ``cinder-volume`` at ``server=host@backend`` (a volume's host without
its ``#pool``).
"""

from __future__ import annotations

from typing import TypeAlias

from tinystack.common.rpc import RPCClient, Target, Transport
from tinystack.common.rpc.payload import JSON
from tinystack.volume.context import CallContext
from tinystack.volume.payloads import ExtendSpec, GroupSpec, ImageUpload, RetypeSpec, VolumeSpec

SCHEDULER_TOPIC = "cinder-scheduler"
VOLUME_TOPIC = "cinder-volume"
SCHEDULER_VERSION = "1.0"
VOLUME_VERSION = "1.0"

RPCContext: TypeAlias = dict[str, JSON]
"""The transport's context of a request: a :meth:`CallContext.to_dict`."""


def backend_of(host: str) -> str:
    """``host@backend`` of a volume's ``host@backend#pool``."""
    return host.partition("#")[0]


class SchedulerAPI:
    def __init__(self, transport: Transport, timeout: float = 60) -> None:
        self.client = RPCClient(
            transport, Target(SCHEDULER_TOPIC, version=SCHEDULER_VERSION), timeout
        )

    def create_volume(self, ctx: CallContext, spec: VolumeSpec) -> None:
        """Choose a pool for the volume and cast its creation to that backend's manager
        (or put it in ``error`` with a user message)."""
        self.client.cast(ctx.to_dict(), "create_volume", spec=spec.to_primitive())

    def extend_volume(self, ctx: CallContext, host: str, spec: ExtendSpec) -> None:
        """Check the volume's pool has room for the new size, then cast the extend."""
        self.client.cast(ctx.to_dict(), "extend_volume", host=host, spec=spec.to_primitive())

    def retype(self, ctx: CallContext, host: str, spec: RetypeSpec) -> None:
        """Check the volume's backend satisfies the new type, then cast the retype."""
        self.client.cast(ctx.to_dict(), "retype", host=host, spec=spec.to_primitive())

    def create_group(self, ctx: CallContext, spec: GroupSpec) -> None:
        """Choose the backend of a generic volume group (all its types must fit there)."""
        self.client.cast(ctx.to_dict(), "create_group", spec=spec.to_primitive())


class VolumeAPI:
    """The managers, one per backend, addressed by a volume's host."""

    def __init__(self, transport: Transport, timeout: float = 60) -> None:
        self.transport = transport
        self.timeout = timeout

    def _client(self, host: str) -> RPCClient:
        target = Target(VOLUME_TOPIC, server=backend_of(host), version=VOLUME_VERSION)
        return RPCClient(self.transport, target, self.timeout)

    def create_volume(self, ctx: CallContext, spec: VolumeSpec) -> None:
        """Create the volume on ``spec.host`` (chosen by the scheduler)."""
        assert spec.host is not None, "a scheduled volume has a host"
        self._client(spec.host).cast(ctx.to_dict(), "create_volume", spec=spec.to_primitive())

    def delete_volume(self, ctx: CallContext, host: str, volume_id: str) -> None:
        """Delete the volume's data and its row (it is ``deleting``)."""
        self._client(host).cast(ctx.to_dict(), "delete_volume", volume_id=volume_id)

    def extend_volume(self, ctx: CallContext, host: str, spec: ExtendSpec) -> None:
        self._client(host).cast(ctx.to_dict(), "extend_volume", spec=spec.to_primitive())

    def retype(self, ctx: CallContext, host: str, spec: RetypeSpec) -> None:
        self._client(host).cast(ctx.to_dict(), "retype", spec=spec.to_primitive())

    def upload_image(self, ctx: CallContext, host: str, upload: ImageUpload) -> None:
        """Copy the volume into the image ``upload.image_id`` (the volume is ``uploading``)."""
        self._client(host).cast(ctx.to_dict(), "upload_image", upload=upload.to_primitive())
