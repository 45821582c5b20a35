"""ServerGroupAntiAffinityFilter: fewer than ``max_server_per_host`` group members here."""

from __future__ import annotations

from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.filters import BaseFilter
from tinystack.compute.scheduler.host_state import HostState


class ServerGroupAntiAffinityFilter(BaseFilter):
    """Fewer than ``max_server_per_host`` (default 1) group members on the host."""

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        group = spec.group
        if not group or group.policy != "anti-affinity":
            return True
        limit = int(str(group.rules.get("max_server_per_host", 1)))
        return host.group_members < limit
