"""Soft affinity weighers: prefer (or avoid) hosts running members of the server group."""

from __future__ import annotations

from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.host_state import HostState
from tinystack.compute.scheduler.weights import BaseWeigher


class ServerGroupSoftAffinityWeigher(BaseWeigher):
    multiplier_option = "soft_affinity_weight_multiplier"

    def raw_weight(self, host: HostState, spec: RequestSpec) -> float:
        if not spec.group or spec.group.policy != "soft-affinity":
            return 0.0
        return float(host.group_members)


class ServerGroupSoftAntiAffinityWeigher(BaseWeigher):
    multiplier_option = "soft_anti_affinity_weight_multiplier"

    def raw_weight(self, host: HostState, spec: RequestSpec) -> float:
        if not spec.group or spec.group.policy != "soft-anti-affinity":
            return 0.0
        return -float(host.group_members)
