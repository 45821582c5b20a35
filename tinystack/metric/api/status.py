"""``/v1/status`` and ``/v1/capabilities``."""

from __future__ import annotations

from typing import Any

from tinystack.common.api.deps import ContextDep
from tinystack.metric.policies import status as rules
from tinystack.metric.services.archive_policies import METHODS


def status(ctx: ContextDep) -> Any:
    # Measures are aggregated as they are posted: nothing ever waits to be processed.
    ctx.can(rules.GET, {})
    return {"storage": {"summary": {"metrics": 0, "measures": 0}, "measures_to_process": {}}}


def capabilities() -> Any:
    methods = [*METHODS, *(f"rate:{m}" for m in METHODS)]
    return {"aggregation_methods": sorted(methods), "dynamic_aggregation_methods": []}
