"""``/v2.0/agents``: the data-plane agents that report to this service."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import simple_check
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import AgentUpdate
from tinystack.network.api.views import agent_view

AGENT = Resource(
    singular="agent",
    plural="agents",
    filters=frozenset(
        """
            id agent_type binary host topic admin_state_up alive availability_zone description
            """.split()
    ),
)


def list_agents(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, AGENT, max_limit(deps))
    items = [agent_view(a) for a in deps.agents.list_items(params.query)]
    return render_list(request, ctx, AGENT, items, params)


def show_agent(agent_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    simple_check(ctx, "get_agent")({})
    agent = agent_view(deps.agents.show(agent_id))
    return render_one(ctx, AGENT, agent, fields=fields_of(request))


def update_agent(agent_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    simple_check(ctx, "update_agent")({})
    values = validate(AgentUpdate, unwrap(body, AGENT, bulk=False)[0][0])
    given = frozenset(k for k in ("admin_state_up", "description") if k in values)
    admin_state_up, description = values.get("admin_state_up"), values.get("description")
    updated = deps.agents.update(agent_id, admin_state_up, description, given)
    return render_one(ctx, AGENT, agent_view(updated))


def delete_agent(agent_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    simple_check(ctx, "delete_agent")({})
    deps.agents.delete(agent_id)
    return Response(status_code=204)
