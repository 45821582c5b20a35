"""RAMWeigher: prefer the hosts with the most free RAM (a negative multiplier stacks)."""

from __future__ import annotations

from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.host_state import HostState
from tinystack.compute.scheduler.weights import BaseWeigher


class RAMWeigher(BaseWeigher):
    multiplier_option = "ram_weight_multiplier"

    def raw_weight(self, host: HostState, spec: RequestSpec) -> float:
        return float(host.free("MEMORY_MB"))
