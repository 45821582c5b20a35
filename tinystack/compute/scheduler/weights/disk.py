"""DiskWeigher: prefer the hosts with the most free disk (a negative multiplier stacks)."""

from __future__ import annotations

from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.host_state import HostState
from tinystack.compute.scheduler.weights import BaseWeigher


class DiskWeigher(BaseWeigher):
    multiplier_option = "disk_weight_multiplier"

    def raw_weight(self, host: HostState, spec: RequestSpec) -> float:
        return float(host.free("DISK_GB"))
