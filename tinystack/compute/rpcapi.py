"""Typed RPC clients of compute's workers: conductor, scheduler and compute agents.

Versions (bump the minor for additions, the major for incompatible changes):

* conductor 1.0: build_instances, migrate_server, unshelve_instance
* scheduler 1.0: select_destinations
* compute 1.0: the instance life cycle methods below

Arguments are JSON values (the wire format); contexts travel as
:meth:`CallContext.to_dict`.
"""

from __future__ import annotations

from typing import Any

from tinystack.common.rpc import RPCClient, Target, Transport
from tinystack.compute.context import CallContext

CONDUCTOR_TOPIC = "compute-conductor"
SCHEDULER_TOPIC = "compute-scheduler"
COMPUTE_TOPIC = "compute"

CONDUCTOR_VERSION = "1.0"
SCHEDULER_VERSION = "1.0"
COMPUTE_VERSION = "1.0"


class ConductorAPI:
    def __init__(self, transport: Transport, timeout: float = 60) -> None:
        self.client = RPCClient(
            transport, Target(CONDUCTOR_TOPIC, version=CONDUCTOR_VERSION), timeout
        )

    def build_instances(
        self,
        ctx: CallContext,
        instance_uuids: list[str],
        request_spec: dict[str, Any],
        host_lists: list[list[dict[str, Any]]] | None = None,
        attempt: int = 1,
    ) -> None:
        """Schedule (or, with ``host_lists``, retry on alternates) and build instances."""
        self.client.cast(
            ctx.to_dict(),
            "build_instances",
            instance_uuids=instance_uuids,
            request_spec=request_spec,
            host_lists=host_lists,
            attempt=attempt,
        )

    def migrate_server(
        self,
        ctx: CallContext,
        instance_uuid: str,
        request_spec: dict[str, Any],
        new_flavor: dict[str, Any] | None,
        migration_type: str,
    ) -> None:
        self.client.cast(
            ctx.to_dict(),
            "migrate_server",
            instance_uuid=instance_uuid,
            request_spec=request_spec,
            new_flavor=new_flavor,
            migration_type=migration_type,
        )

    def unshelve_instance(
        self, ctx: CallContext, instance_uuid: str, request_spec: dict[str, Any]
    ) -> None:
        self.client.cast(
            ctx.to_dict(),
            "unshelve_instance",
            instance_uuid=instance_uuid,
            request_spec=request_spec,
        )


class SchedulerAPI:
    def __init__(self, transport: Transport, timeout: float = 60) -> None:
        self.client = RPCClient(
            transport, Target(SCHEDULER_TOPIC, version=SCHEDULER_VERSION), timeout
        )

    def select_destinations(
        self,
        ctx: CallContext,
        request_spec: dict[str, Any],
        instance_uuids: list[str],
        *,
        claim: bool = True,
    ) -> list[list[dict[str, Any]]]:
        """For each instance, the chosen host (claimed in placement) then alternates."""
        result: list[list[dict[str, Any]]] = self.client.call(
            ctx.to_dict(),
            "select_destinations",
            request_spec=request_spec,
            instance_uuids=instance_uuids,
            claim=claim,
        )
        return result


class ComputeAgentAPI:
    """Casts and calls to the compute agent of one host (``Target('compute', host)``)."""

    def __init__(self, transport: Transport, timeout: float = 60) -> None:
        self.client = RPCClient(transport, Target(COMPUTE_TOPIC, version=COMPUTE_VERSION), timeout)

    def cast(self, ctx: CallContext, host: str, method: str, **kwargs: Any) -> None:
        self.client.prepare(server=host).cast(ctx.to_dict(), method, **kwargs)

    def call(
        self, ctx: CallContext, host: str, method: str, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        return self.client.prepare(server=host, timeout=timeout).call(
            ctx.to_dict(), method, **kwargs
        )

    def build_and_run_instance(
        self,
        ctx: CallContext,
        host: str,
        instance_uuid: str,
        request_spec: dict[str, Any],
        host_list: list[dict[str, Any]],
        attempt: int,
        node: str | None = None,
        scheduled: dict[str, Any] | None = None,
    ) -> None:
        """``scheduled`` is the conductor's event ({event, started, finished}) for the agent
        to record with the host assignment."""
        self.cast(
            ctx,
            host,
            "build_and_run_instance",
            instance_uuid=instance_uuid,
            request_spec=request_spec,
            host_list=host_list,
            attempt=attempt,
            node=node,
            scheduled=scheduled,
        )
