"""DifferentHostFilter: not on the hosts of the ``different_host`` hint's instances."""

from __future__ import annotations

from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.filters import BaseFilter
from tinystack.compute.scheduler.filters.same_host import hint_hosts
from tinystack.compute.scheduler.host_state import HostState


class DifferentHostFilter(BaseFilter):
    run_once_per_request = True

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        hosts = hint_hosts(spec, "different_host")
        return hosts is None or host.host not in hosts
