"""ComputeCapabilitiesFilter: flavor ``capabilities:*`` extra specs match the host."""

from __future__ import annotations

from typing import Any

from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.filters import BaseFilter
from tinystack.compute.scheduler.filters.extra_specs_ops import match
from tinystack.compute.scheduler.host_state import HostState


def _lookup(host: HostState, path: list[str]) -> Any:
    facts = host.facts
    values: dict[str, Any] = {
        "hypervisor_type": facts.hypervisor_type,
        "hypervisor_version": facts.hypervisor_version,
        "hypervisor_hostname": facts.nodename,
        "host": facts.host,
        "cpu_info": facts.cpu_info,
        "vcpus_total": host.capacity.get("VCPU", 0),
        "free_ram_mb": host.free("MEMORY_MB"),
        "free_disk_mb": host.free("DISK_GB") * 1024,
    }
    current: Any = values
    for part in path:
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


class ComputeCapabilitiesFilter(BaseFilter):
    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        for key, requirement in spec.extra_specs.items():
            scope = key.split(":")
            if len(scope) < 2 or scope[0] != "capabilities":
                continue
            actual = _lookup(host, scope[1:])
            if actual is None or not match(actual, requirement):
                return False
        return True
