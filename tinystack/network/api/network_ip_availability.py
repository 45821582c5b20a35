"""``/v2.0/network-ip-availabilities``: address usage per network and subnet."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import simple_check
from tinystack.network.api.list_params import fields_of
from tinystack.network.api.views import network_ip_availability_view
from tinystack.network.exception import http_bad_request

FILTERS = {"network_id", "network_name", "project_id", "tenant_id", "ip_version"}
RULE = "get_network_ip_availability"


def list_availabilities(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    simple_check(ctx, RULE)({})
    params = request.query_params
    unknown = [k for k in params if k not in FILTERS and k != "fields"]
    if unknown:
        raise http_bad_request(f"{unknown} is invalid attribute for filtering")
    filters = {k: params.getlist(k) for k in FILTERS if params.getlist(k)}
    found = deps.network_ip_availability.list_items(filters)
    items = [network_ip_availability_view(i) for i in found]
    fields = fields_of(request)
    if fields:
        items = [{k: v for k, v in i.items() if k in fields} for i in items]
    return JSONResponse({"network_ip_availabilities": items})


def show_availability(network_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    simple_check(ctx, RULE)({})
    item = network_ip_availability_view(deps.network_ip_availability.show(network_id))
    return JSONResponse({"network_ip_availability": item})
