"""``/v2.0/availability_zones``: zones offered for networks and routers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import simple_check
from tinystack.network.api.views import availability_zone_view
from tinystack.network.exception import http_bad_request

FILTERS = ("name", "resource", "state")


def list_availability_zones(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    simple_check(ctx, "get_availability_zone")({})
    params = request.query_params
    unknown = [k for k in params if k not in FILTERS and k != "fields"]
    if unknown:
        raise http_bad_request(f"{unknown} is invalid attribute for filtering")
    zones = [availability_zone_view(z) for z in deps.agents.availability_zones()]
    for key in FILTERS:
        wanted = params.getlist(key)
        if wanted:
            zones = [z for z in zones if z[key] in wanted]
    return JSONResponse({"availability_zones": zones})
