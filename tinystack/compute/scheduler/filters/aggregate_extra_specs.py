"""AggregateInstanceExtraSpecsFilter: flavor extra specs match the host's aggregate metadata.

Keys scoped ``aggregate_instance_extra_specs:`` and unscoped keys are checked; a
host passes if, for every such key, one of its aggregates has a matching value.
"""

from __future__ import annotations

from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.filters import BaseFilter
from tinystack.compute.scheduler.filters.extra_specs_ops import match
from tinystack.compute.scheduler.host_state import HostState

SCOPE = "aggregate_instance_extra_specs"


class AggregateInstanceExtraSpecsFilter(BaseFilter):
    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        for key, requirement in spec.extra_specs.items():
            parts = key.split(":")
            if len(parts) == 1:
                name = key
            elif len(parts) == 2 and parts[0] == SCOPE:
                name = parts[1]
            else:
                continue
            values = [meta[name] for meta in host.facts.aggregates if name in meta]
            if not values:
                return False
            candidates = [v.strip() for value in values for v in value.split(",")]
            if not any(match(v, requirement) for v in candidates):
                return False
        return True
