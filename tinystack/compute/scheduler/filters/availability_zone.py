"""AvailabilityZoneFilter: the host is in the requested availability zone."""

from __future__ import annotations

from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.filters import BaseFilter
from tinystack.compute.scheduler.host_state import HostState


class AvailabilityZoneFilter(BaseFilter):
    run_once_per_request = True

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        if not spec.availability_zone:
            return True
        return spec.availability_zone in host.facts.availability_zone.split(",")
