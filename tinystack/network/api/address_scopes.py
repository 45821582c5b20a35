"""``/v2.0/address-scopes``: address scopes for subnet pools."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import make_check
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import AddressScopeCreate, AddressScopeUpdate, owner
from tinystack.network.api.views import render_list, render_one

ADDRESS_SCOPE = Resource(
    singular="address_scope",
    plural="address_scopes",
    path="address-scopes",
    filters=frozenset(
        """
            id name project_id tenant_id ip_version shared description revision_number
            created_at updated_at
            """.split()
    ),
    defaults={"shared": False, "tags": []},
)


def list_address_scopes(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, ADDRESS_SCOPE, max_limit(deps))
    items = deps.address_scopes.list_items(ctx, params.query)
    return render_list(request, ctx, ADDRESS_SCOPE, items, params)


def create_address_scope(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(AddressScopeCreate, unwrap(body, ADDRESS_SCOPE, bulk=False)[0][0]))
    created = deps.address_scopes.create(ctx, values, make_check(ctx, ADDRESS_SCOPE, "create"))
    return render_one(ctx, ADDRESS_SCOPE, created, 201, hide_missing=False)


def show_address_scope(scope_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    item = deps.address_scopes.show(ctx, scope_id)
    return render_one(ctx, ADDRESS_SCOPE, item, fields=fields_of(request))


def update_address_scope(
    scope_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(AddressScopeUpdate, unwrap(body, ADDRESS_SCOPE, bulk=False)[0][0])
    check = make_check(ctx, ADDRESS_SCOPE, "update", values)
    updated = deps.address_scopes.update(ctx, scope_id, values, check, revision(request))
    return render_one(ctx, ADDRESS_SCOPE, updated, hide_missing=False)


def delete_address_scope(
    scope_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    check = make_check(ctx, ADDRESS_SCOPE, "delete", {})
    deps.address_scopes.delete(ctx, scope_id, check, revision(request))
    return Response(status_code=204)
