"""SameHostFilter: on a host of the ``same_host`` hint's instances."""

from __future__ import annotations

from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.filters import BaseFilter
from tinystack.compute.scheduler.host_state import HostState

#: hint -> the hosts of the instances it names, filled in by the scheduler manager
RESOLVED = "_resolved_hosts"


def hint_hosts(spec: RequestSpec, hint: str) -> list[str] | None:
    resolved = spec.scheduler_hints.get(RESOLVED)
    if not spec.hint_list(hint):
        return None
    hosts = resolved.get(hint) if isinstance(resolved, dict) else None
    return [str(h) for h in hosts] if isinstance(hosts, list) else []


class SameHostFilter(BaseFilter):
    run_once_per_request = True

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        hosts = hint_hosts(spec, "same_host")
        return hosts is None or host.host in hosts
