"""``/v3/policies`` (policy blobs) and their endpoint associations (``OS-ENDPOINT-POLICY``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.delegation_schemas import PolicyBody, PolicyUpdateBody
from tinystack.identity.api.deps import DepsDep, authorize
from tinystack.identity.api.views import collection, render_endpoint, render_policy
from tinystack.identity.services import endpoint_policies, policies


def create_policy(
    request: Request, ctx: ContextDep, deps: DepsDep, body: PolicyBody
) -> dict[str, Any]:
    authorize(ctx, "identity:create_policy")
    return {"policy": render_policy(request, policies.create(deps, body.policy.fields()))}


def list_policies(
    request: Request, ctx: ContextDep, deps: DepsDep, type: str | None = None
) -> dict[str, Any]:
    authorize(ctx, "identity:list_policies")
    return collection(request, "policies", policies.list_policies(deps, type), render_policy)


def show_policy(request: Request, ctx: ContextDep, deps: DepsDep, policy_id: str) -> dict[str, Any]:
    authorize(ctx, "identity:get_policy")
    return {"policy": render_policy(request, policies.show(deps, policy_id))}


def update_policy(
    request: Request, ctx: ContextDep, deps: DepsDep, policy_id: str, body: PolicyUpdateBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_policy")
    updated = policies.update(deps, policy_id, body.policy.fields(policy_id))
    return {"policy": render_policy(request, updated)}


def delete_policy(ctx: ContextDep, deps: DepsDep, policy_id: str) -> Response:
    authorize(ctx, "identity:delete_policy")
    policies.delete(deps, policy_id)
    return Response(status_code=204)


# -- OS-ENDPOINT-POLICY ----------------------------------------------------------------------


def _done() -> Response:
    return Response(status_code=204)


def associate_endpoint(
    ctx: ContextDep, deps: DepsDep, policy_id: str, endpoint_id: str
) -> Response:
    authorize(ctx, "identity:create_policy_association_for_endpoint")
    endpoint_policies.associate(deps, policy_id, (endpoint_id, None, None))
    return _done()


def check_endpoint(ctx: ContextDep, deps: DepsDep, policy_id: str, endpoint_id: str) -> Response:
    authorize(ctx, "identity:check_policy_association_for_endpoint")
    endpoint_policies.check(deps, policy_id, (endpoint_id, None, None))
    return _done()


def dissociate_endpoint(
    ctx: ContextDep, deps: DepsDep, policy_id: str, endpoint_id: str
) -> Response:
    authorize(ctx, "identity:delete_policy_association_for_endpoint")
    endpoint_policies.dissociate(deps, policy_id, (endpoint_id, None, None))
    return _done()


def associate_service(ctx: ContextDep, deps: DepsDep, policy_id: str, service_id: str) -> Response:
    authorize(ctx, "identity:create_policy_association_for_service")
    endpoint_policies.associate(deps, policy_id, (None, service_id, None))
    return _done()


def check_service(ctx: ContextDep, deps: DepsDep, policy_id: str, service_id: str) -> Response:
    authorize(ctx, "identity:check_policy_association_for_service")
    endpoint_policies.check(deps, policy_id, (None, service_id, None))
    return _done()


def dissociate_service(ctx: ContextDep, deps: DepsDep, policy_id: str, service_id: str) -> Response:
    authorize(ctx, "identity:delete_policy_association_for_service")
    endpoint_policies.dissociate(deps, policy_id, (None, service_id, None))
    return _done()


def associate_region(
    ctx: ContextDep, deps: DepsDep, policy_id: str, service_id: str, region_id: str
) -> Response:
    authorize(ctx, "identity:create_policy_association_for_region_and_service")
    endpoint_policies.associate(deps, policy_id, (None, service_id, region_id))
    return _done()


def check_region(
    ctx: ContextDep, deps: DepsDep, policy_id: str, service_id: str, region_id: str
) -> Response:
    authorize(ctx, "identity:check_policy_association_for_region_and_service")
    endpoint_policies.check(deps, policy_id, (None, service_id, region_id))
    return _done()


def dissociate_region(
    ctx: ContextDep, deps: DepsDep, policy_id: str, service_id: str, region_id: str
) -> Response:
    authorize(ctx, "identity:delete_policy_association_for_region_and_service")
    endpoint_policies.dissociate(deps, policy_id, (None, service_id, region_id))
    return _done()


def policy_endpoints(
    request: Request, ctx: ContextDep, deps: DepsDep, policy_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:list_endpoints_for_policy")
    items = endpoint_policies.endpoints_for_policy(deps, policy_id)
    return collection(request, "endpoints", items, render_endpoint)


def endpoint_policy(
    request: Request, ctx: ContextDep, deps: DepsDep, endpoint_id: str
) -> dict[str, Any]:
    authorize(ctx, "identity:get_policy_for_endpoint")
    return {
        "policy": render_policy(request, endpoint_policies.policy_for_endpoint(deps, endpoint_id))
    }
