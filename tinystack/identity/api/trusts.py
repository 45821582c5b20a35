"""``/v3/OS-TRUST/trusts``: trusts and the roles they delegate."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.delegation_schemas import TrustBody
from tinystack.identity.api.deps import DepsDep
from tinystack.identity.api.views import base_url, collection, render_role, render_trust
from tinystack.identity.services import trusts


def create_trust(
    request: Request, ctx: ContextDep, deps: DepsDep, body: TrustBody
) -> dict[str, Any]:
    return {"trust": render_trust(request, trusts.create(deps, ctx, body.trust.fields()))}


def list_trusts(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    trustor_user_id: str | None = None,
    trustee_user_id: str | None = None,
) -> dict[str, Any]:
    items = trusts.list_trusts(deps, ctx, trustor_user_id, trustee_user_id)
    return collection(request, "trusts", items, lambda r, t: render_trust(r, t, with_roles=False))


def show_trust(request: Request, ctx: ContextDep, deps: DepsDep, trust_id: str) -> dict[str, Any]:
    return {"trust": render_trust(request, trusts.show(deps, ctx, trust_id))}


def delete_trust(ctx: ContextDep, deps: DepsDep, trust_id: str) -> Response:
    trusts.delete(deps, ctx, trust_id)
    return Response(status_code=204)


def list_trust_roles(
    request: Request, ctx: ContextDep, deps: DepsDep, trust_id: str
) -> dict[str, Any]:
    roles = trusts.roles_of(deps, ctx, trust_id)
    return {
        "roles": [render_role(request, r) for r in roles],
        "links": {
            "self": f"{base_url(request)}/v3/OS-TRUST/trusts/{trust_id}/roles",
            "previous": None,
            "next": None,
        },
    }


def show_trust_role(
    request: Request, ctx: ContextDep, deps: DepsDep, trust_id: str, role_id: str
) -> dict[str, Any]:
    return {"role": render_role(request, trusts.role_of(deps, ctx, trust_id, role_id))}
