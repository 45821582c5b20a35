"""ServerGroupAffinityFilter: the host of the group's members (any, for the first)."""

from __future__ import annotations

from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.filters import BaseFilter
from tinystack.compute.scheduler.host_state import HostState


class ServerGroupAffinityFilter(BaseFilter):
    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        group = spec.group
        if not group or group.policy != "affinity":
            return True
        hosts = group.hosts
        return not hosts or host.host in hosts
