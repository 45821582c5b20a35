"""A compute agent of the previous release (N-1), for the rolling upgrade test.

This code pinned where the release before compute RPC 2.2 differed: the agent serves
compute 2.1 (its dispatcher refuses 2.2 requests, as the old code would) and reads
``ScheduledEvent`` 1.0, refusing any other version, so a caller that forgot its cap or
its backport fails the build instead of passing unnoticed. It reports those versions
in its service row like any agent. Run as
``python -m tests.compute.old_agent serve compute --config-file <conf>``.
"""

from __future__ import annotations

import sys
from typing import Any

from tinystack.common.rpc import Target
from tinystack.common.rpc.payload import JSON, PayloadError
from tinystack.compute import objects, rpcapi
from tinystack.compute.agent import manager

OLD_COMPUTE_VERSION = "2.1"
OLD_SCHEDULED_EVENT = "1.0"


def pin() -> None:
    rpcapi.COMPUTE_VERSION = OLD_COMPUTE_VERSION
    manager.ComputeManager.target = Target(rpcapi.COMPUTE_TOPIC, version=OLD_COMPUTE_VERSION)
    objects.ScheduledEvent.VERSION = OLD_SCHEDULED_EVENT
    read = objects.ScheduledEvent.from_primitive.__func__  # type: ignore[attr-defined]

    def from_primitive(cls: type[objects.ScheduledEvent], primitive: JSON) -> Any:
        version = primitive.get("tinystack.version") if isinstance(primitive, dict) else None
        if version != OLD_SCHEDULED_EVENT:
            raise PayloadError(f"a {OLD_SCHEDULED_EVENT} agent got ScheduledEvent {version}")
        return read(cls, primitive)

    objects.ScheduledEvent.from_primitive = classmethod(from_primitive)  # type: ignore[assignment,method-assign]


if __name__ == "__main__":
    pin()
    from tinystack.cli import main

    sys.argv = ["tinystack", *sys.argv[1:]]
    main()
