"""Scheduler weighers: one per module; weights are normalised to 0..1 then multiplied.

A host's final weight is the sum over weighers of ``multiplier * normalised(raw)``,
as upstream computes it; the highest weight wins.
"""

from __future__ import annotations

import abc
import importlib

from tinystack.compute.conf import Options
from tinystack.compute.objects import RequestSpec
from tinystack.compute.scheduler.host_state import HostState

REGISTRY = {
    "RAMWeigher": "ram",
    "CPUWeigher": "cpu",
    "DiskWeigher": "disk",
    "ServerGroupSoftAffinityWeigher": "affinity",
    "ServerGroupSoftAntiAffinityWeigher": "affinity",
}


class BaseWeigher(abc.ABC):
    #: the [compute] option holding this weigher's multiplier
    multiplier_option: str = ""

    def __init__(self, opts: Options) -> None:
        self.opts = opts

    def multiplier(self) -> float:
        return float(getattr(self.opts, self.multiplier_option, 1.0))

    @abc.abstractmethod
    def raw_weight(self, host: HostState, spec: RequestSpec) -> float:
        """The unnormalised weight of ``host`` (bigger is better before the multiplier)."""


def normalise(values: list[float]) -> list[float]:
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        return [0.0 for _ in values]
    return [(v - low) / (high - low) for v in values]


def weigh(weighers: list[BaseWeigher], hosts: list[HostState], spec: RequestSpec) -> None:
    """Set ``host.weight`` on every host."""
    for host in hosts:
        host.weight = 0.0
    for weigher in weighers:
        multiplier = weigher.multiplier()
        if not multiplier:
            continue
        raws = normalise([weigher.raw_weight(h, spec) for h in hosts])
        for host, value in zip(hosts, raws, strict=True):
            host.weight += multiplier * value


def load(names: list[str], opts: Options) -> list[BaseWeigher]:
    weighers = []
    for name in names:
        module = REGISTRY.get(name)
        if module is None:
            raise ValueError(f"unknown scheduler weigher {name!r}; known: {sorted(REGISTRY)}")
        cls = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        weighers.append(cls(opts))
    return weighers
