"""``/v2.0/auto-allocated-topology/{project_id}``: "get me a network".

``GET`` answers the project's network, making the topology on first use;
``?fields=dry-run`` only checks that it could be made. ``DELETE`` takes it apart.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import simple_check
from tinystack.network.api.views import owner


def get_auto_allocated_topology(
    project_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    simple_check(ctx, "get_auto_allocated_topology")(owner(project_id))
    topologies = deps.auto_allocated_topology
    if "dry-run" in request.query_params.getlist("fields"):
        topologies.defaults()
        network_id = "dry-run=pass"
    else:
        network_id = topologies.get(project_id).network_id
    body = {"id": network_id, **owner(project_id)}
    return JSONResponse({"auto_allocated_topology": body})


def delete_auto_allocated_topology(project_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    simple_check(ctx, "delete_auto_allocated_topology")(owner(project_id))
    deps.auto_allocated_topology.delete(project_id)
    return Response(status_code=204)
