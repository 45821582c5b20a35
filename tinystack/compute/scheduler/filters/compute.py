"""ComputeFilter: the host's compute service is enabled and up."""

from __future__ import annotations

from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.filters import BaseFilter
from tinystack.compute.scheduler.host_state import HostState


class ComputeFilter(BaseFilter):
    run_once_per_request = True

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        return not host.facts.disabled and host.facts.up
