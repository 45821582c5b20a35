"""ServerGroupAntiAffinityFilter: fewer than ``max_server_per_host`` group members here."""

from __future__ import annotations

from tinystack.compute.scheduler.filters import BaseFilter
from tinystack.compute.scheduler.host_state import HostState
from tinystack.compute.scheduler.request_spec import RequestSpec


class ServerGroupAntiAffinityFilter(BaseFilter):
    """Fewer than ``max_server_per_host`` (default 1) group members on the host."""

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        group = spec.group
        if not group or group.get("policy") != "anti-affinity":
            return True
        limit = int((group.get("rules") or {}).get("max_server_per_host", 1))
        return host.group_members < limit
