"""``/v2.0/address-scopes``: address scopes for subnet pools."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import authorize_create, make_check, on_view
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import AddressScopeCreate, AddressScopeUpdate, owner
from tinystack.network.api.views import address_scope_view
from tinystack.network.services.address_scopes import AddressScopeChanges, AddressScopeSpec

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
    items = [address_scope_view(s) for s in deps.address_scopes.list_items(ctx, params.query)]
    return render_list(request, ctx, ADDRESS_SCOPE, items, params)


def create_address_scope(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    values = owner(validate(AddressScopeCreate, unwrap(body, ADDRESS_SCOPE, bulk=False)[0][0]))
    authorize_create(ctx, ADDRESS_SCOPE, [values])
    spec = AddressScopeSpec(
        ip_version=values["ip_version"],
        project_id=values.get("project_id"),
        name=values.get("name"),
        description=values.get("description"),
        shared=bool(values.get("shared")),
        tags=tuple(values.get("tags") or ()),
    )
    created = address_scope_view(deps.address_scopes.create(ctx, spec))
    return render_one(ctx, ADDRESS_SCOPE, created, 201, hide_missing=False)


def show_address_scope(scope_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    item = address_scope_view(deps.address_scopes.show(ctx, scope_id))
    return render_one(ctx, ADDRESS_SCOPE, item, fields=fields_of(request))


def update_address_scope(
    scope_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(AddressScopeUpdate, unwrap(body, ADDRESS_SCOPE, bulk=False)[0][0])
    check = on_view(make_check(ctx, ADDRESS_SCOPE, "update", values), address_scope_view)
    changes = AddressScopeChanges(
        name=values.get("name"),
        description=values.get("description"),
        shared=values.get("shared"),
        given=frozenset(k for k in ("name", "description", "shared") if k in values),
    )
    updated = deps.address_scopes.update(ctx, scope_id, changes, check, revision(request))
    return render_one(ctx, ADDRESS_SCOPE, address_scope_view(updated), hide_missing=False)


def delete_address_scope(
    scope_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    check = on_view(make_check(ctx, ADDRESS_SCOPE, "delete", {}), address_scope_view)
    deps.address_scopes.delete(ctx, scope_id, check, revision(request))
    return Response(status_code=204)
