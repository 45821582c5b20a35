"""Scheduler filters: one class per module, each answering ``host_passes(host, spec)``.

``load(names)`` builds the enabled filters, in the configured order.
"""

from __future__ import annotations

import abc
import importlib

from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.host_state import HostState

#: filter class name -> module under this package
REGISTRY = {
    "ComputeFilter": "compute",
    "AvailabilityZoneFilter": "availability_zone",
    "ComputeCapabilitiesFilter": "compute_capabilities",
    "ImagePropertiesFilter": "image_props",
    "AggregateInstanceExtraSpecsFilter": "aggregate_extra_specs",
    "ServerGroupAntiAffinityFilter": "server_group_anti_affinity",
    "ServerGroupAffinityFilter": "server_group_affinity",
    "SameHostFilter": "same_host",
    "DifferentHostFilter": "different_host",
}


class BaseFilter(abc.ABC):
    #: run once per request, not once per instance of a multi-create
    run_once_per_request = False

    @abc.abstractmethod
    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        """Whether ``host`` can take an instance of ``spec``."""

    @property
    def name(self) -> str:
        return type(self).__name__


def load(names: list[str]) -> list[BaseFilter]:
    filters = []
    for name in names:
        module = REGISTRY.get(name)
        if module is None:
            raise ValueError(f"unknown scheduler filter {name!r}; known: {sorted(REGISTRY)}")
        cls = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        filters.append(cls())
    return filters
