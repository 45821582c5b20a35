"""``/v3/domains/{domain_id}/config``: a domain's own ``identity`` and ``ldap`` options,
and ``/v3/domains/config/.../default``: the defaults."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.identity.api.deps import DepsDep, authorize
from tinystack.identity.api.schemas import DomainConfigBody
from tinystack.identity.services import domain_configs


def create_config(
    ctx: ContextDep, deps: DepsDep, domain_id: str, body: DomainConfigBody
) -> JSONResponse:
    authorize(ctx, "identity:create_domain_config")
    config, created = domain_configs.create(deps, domain_id, body.config)
    return JSONResponse({"config": config}, status_code=201 if created else 200)


def show_config(ctx: ContextDep, deps: DepsDep, domain_id: str) -> dict[str, Any]:
    authorize(ctx, "identity:get_domain_config")
    return {"config": domain_configs.show(deps, domain_id)}


def show_group(ctx: ContextDep, deps: DepsDep, domain_id: str, group: str) -> dict[str, Any]:
    if group == "security_compliance":
        authorize(ctx, "identity:get_security_compliance_domain_config")
        return {"config": domain_configs.security_compliance(deps, domain_id, None)}
    authorize(ctx, "identity:get_domain_config")
    return {"config": domain_configs.show(deps, domain_id, group)}


def show_option(
    ctx: ContextDep, deps: DepsDep, domain_id: str, group: str, option: str
) -> dict[str, Any]:
    if group == "security_compliance":
        authorize(ctx, "identity:get_security_compliance_domain_config")
        return {"config": domain_configs.security_compliance(deps, domain_id, option)}
    authorize(ctx, "identity:get_domain_config")
    return {"config": domain_configs.show(deps, domain_id, group, option)}


def update_config(
    ctx: ContextDep, deps: DepsDep, domain_id: str, body: DomainConfigBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_domain_config")
    return {"config": domain_configs.update(deps, domain_id, body.config)}


def update_group(
    ctx: ContextDep, deps: DepsDep, domain_id: str, group: str, body: DomainConfigBody
) -> dict[str, Any]:
    authorize(ctx, "identity:update_domain_config")
    return {"config": domain_configs.update(deps, domain_id, body.config, group)}


def update_option(
    ctx: ContextDep,
    deps: DepsDep,
    domain_id: str,
    group: str,
    option: str,
    body: DomainConfigBody,
) -> dict[str, Any]:
    authorize(ctx, "identity:update_domain_config")
    return {"config": domain_configs.update(deps, domain_id, body.config, group, option)}


def delete_config(ctx: ContextDep, deps: DepsDep, domain_id: str) -> Response:
    authorize(ctx, "identity:delete_domain_config")
    domain_configs.delete(deps, domain_id)
    return Response(status_code=204)


def delete_group(ctx: ContextDep, deps: DepsDep, domain_id: str, group: str) -> Response:
    authorize(ctx, "identity:delete_domain_config")
    domain_configs.delete(deps, domain_id, group)
    return Response(status_code=204)


def delete_option(
    ctx: ContextDep, deps: DepsDep, domain_id: str, group: str, option: str
) -> Response:
    authorize(ctx, "identity:delete_domain_config")
    domain_configs.delete(deps, domain_id, group, option)
    return Response(status_code=204)


def default_config(ctx: ContextDep) -> dict[str, Any]:
    authorize(ctx, "identity:get_domain_config_default")
    return {"config": domain_configs.default()}


def default_group(ctx: ContextDep, group: str) -> dict[str, Any]:
    authorize(ctx, "identity:get_domain_config_default")
    return {"config": domain_configs.default(group)}


def default_option(ctx: ContextDep, group: str, option: str) -> dict[str, Any]:
    authorize(ctx, "identity:get_domain_config_default")
    return {"config": domain_configs.default(group, option)}
