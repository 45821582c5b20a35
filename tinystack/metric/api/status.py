"""``/v1/status`` and ``/v1/capabilities``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tinystack.common.api.deps import ContextDep
from tinystack.metric.api.deps import DepsDep, flag
from tinystack.metric.policies import status as rules
from tinystack.metric.services import status as service
from tinystack.metric.services.archive_policies import METHODS


def status(request: Request, ctx: ContextDep, deps: DepsDep) -> Any:
    ctx.can(rules.GET, {})
    found = service.get(deps, flag(request, "details", True))
    storage: dict[str, Any] = {"summary": {"metrics": found.metrics, "measures": found.measures}}
    if found.measures_to_process is not None:
        storage["measures_to_process"] = found.measures_to_process
    # Gnocchi names its metricd members and reports each one's capabilities; tinystack's
    # workers report no statistics
    processors = list(found.processors)
    metricd = {"processors": processors, "statistics": {p: {} for p in processors}}
    return {"storage": storage, "metricd": metricd}


def capabilities() -> Any:
    methods = [*METHODS, *(f"rate:{m}" for m in METHODS)]
    return {"aggregation_methods": sorted(methods), "dynamic_aggregation_methods": []}
