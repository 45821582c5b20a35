"""The scheduler's filters and weigher over :class:`PoolState` (upstream semantics)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tinystack.volume.payloads import VolumeSpec
from tinystack.volume.services.scheduling import PoolState

TRUE_WORDS = {"1", "t", "true", "on", "y", "yes"}


@dataclass(frozen=True)
class Request:
    """What a pool must offer: a volume spec, or an extend's extra gigabytes on one pool."""

    size: int
    availability_zone: str | None
    extra_specs: dict[str, str]
    #: the pools must be of this backend (clones, volumes from snapshots, extends)
    backend: str | None = None


def request_of(spec: VolumeSpec) -> Request:
    backend = spec.source_host.partition("#")[0] if spec.source_host else None
    return Request(spec.size, spec.availability_zone, dict(spec.extra_specs), backend)


# -- filters -----------------------------------------------------------------------------------
def availability_zone_filter(pool: PoolState, req: Request) -> bool:
    return req.availability_zone is None or pool.availability_zone == req.availability_zone


def capacity_filter(pool: PoolState, req: Request) -> bool:
    """Upstream's CapacityFilter: thin pools by over-subscription, thick by free space."""
    size = req.size
    if size <= 0:
        return True
    total = pool.total_capacity_gb
    if total <= 0:
        return False
    free = pool.free_gb
    wants_thin = _thin_requested(req.extra_specs, pool)
    if wants_thin and pool.thin:
        ratio = (pool.provisioned_gb + size) / total
        if ratio > pool.max_over_subscription_ratio:
            return False
        if pool.max_over_subscription_ratio >= 1:
            return free * pool.max_over_subscription_ratio >= size
    return free >= size


def _thin_requested(specs: dict[str, str], pool: PoolState) -> bool:
    thin = specs.get("capabilities:thin_provisioning_support")
    thick = specs.get("capabilities:thick_provisioning_support")
    if thick is not None and _truthy(thick.split()[-1]):
        return False
    if thin is not None:
        return _truthy(thin.split()[-1])
    return pool.thin


def capabilities_filter(pool: PoolState, req: Request) -> bool:
    """The type's extra specs (unscoped or ``capabilities:``) against the capabilities."""
    for key, wanted in req.extra_specs.items():
        scope = key.split(":")
        if len(scope) > 1 and scope[0] != "capabilities":
            continue
        if scope[0] == "capabilities":
            scope = scope[1:]
        value: Any = pool.capabilities
        for part in scope:
            if not isinstance(value, dict) or part not in value:
                return False
            value = value[part]
        values = value if isinstance(value, list) else [value]
        if not any(match(v, wanted) for v in values):
            return False
    return True


def backend_filter(pool: PoolState, req: Request) -> bool:
    return req.backend is None or pool.backend == req.backend


FILTERS: dict[str, Callable[[PoolState, Request], bool]] = {
    "AvailabilityZoneFilter": availability_zone_filter,
    "CapacityFilter": capacity_filter,
    "CapabilitiesFilter": capabilities_filter,
}


# -- extra spec operators (upstream's extra_specs_ops) -----------------------------------------
def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUE_WORDS


def _number(op: Callable[[float, float], bool]) -> Callable[[Any, str], bool]:
    return lambda value, wanted: op(float(value), float(wanted))


def _string(op: Callable[[str, str], bool]) -> Callable[[Any, str], bool]:
    return lambda value, wanted: op(str(value), wanted)


OPERATORS: dict[str, Callable[[Any, str], bool]] = {
    "=": _number(operator.ge),
    "<in>": lambda value, wanted: wanted in str(value),
    "<is>": lambda value, wanted: _truthy(value) is _truthy(wanted),
    "==": _number(operator.eq),
    "!=": _number(operator.ne),
    ">=": _number(operator.ge),
    "<=": _number(operator.le),
    "s==": _string(operator.eq),
    "s!=": _string(operator.ne),
    "s<": _string(operator.lt),
    "s<=": _string(operator.le),
    "s>": _string(operator.gt),
    "s>=": _string(operator.ge),
}


def match(value: Any, wanted: str | None) -> bool:
    """Whether a capability ``value`` satisfies the extra spec ``wanted``."""
    if wanted is None:
        return value is None
    words = wanted.split()
    op = words.pop(0) if words else None
    method = OPERATORS.get(op or "")
    if op != "<or>" and method is None:
        return bool(value == wanted) or str(value) == wanted
    if value is None:
        return False
    if op == "<or>":
        choices = [w for i, w in enumerate(words) if i % 2 == 0]
        return str(value) in choices
    try:
        return bool(words and method is not None and method(value, words[0]))
    except ValueError:
        return False


# -- weighing ----------------------------------------------------------------------------------
def capacity_weight(pool: PoolState) -> float:
    """Upstream's CapacityWeigher measure: the (virtual, for thin pools) free capacity."""
    return pool.virtual_free_gb


def choose(
    pools: list[PoolState], req: Request, filters: list[str], multiplier: float
) -> PoolState | None:
    """The best pool passing every filter (None: no valid backend)."""
    chosen = [FILTERS[name] for name in filters if name in FILTERS]
    passing = [
        pool
        for pool in pools
        if backend_filter(pool, req) and all(check(pool, req) for check in chosen)
    ]
    if not passing:
        return None
    return max(passing, key=lambda pool: multiplier * capacity_weight(pool))
