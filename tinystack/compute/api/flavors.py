"""``/flavors``: list, detail, show, admin create/update/delete, extra specs, access."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest, NotFound
from tinystack.compute.api.bodies import body_part, gate, unexpected
from tinystack.compute.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.compute.api.microversion import Version
from tinystack.compute.api.query import bool_param, limit_and_marker
from tinystack.compute.api.rendering import json_response, link, next_link
from tinystack.compute.api.schemas import (
    ExtraSpecItemRequest,
    ExtraSpecsRequest,
    FlavorActionRequest,
    FlavorCreate,
    FlavorCreateRequest,
    FlavorUpdateRequest,
    TenantBody,
)
from tinystack.compute.services import extra_specs, flavors
from tinystack.compute.services.deps import Deps
from tinystack.compute.services.flavors import FlavorRecord

router = APIRouter(tags=["flavors"])
MANAGE = "os_compute_api:os-flavor-manage:%s"
SPECS = "os_compute_api:os-flavor-extra-specs:%s"
ACCESS = "os_compute_api:os-flavor-access"


def _view(
    request: Request, flavor: FlavorRecord, version: Version, extra_specs: bool
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": flavor.flavorid,
        "name": flavor.name,
        "ram": flavor.memory_mb,
        "disk": flavor.root_gb,
        "swap": flavor.swap or (0 if version >= (2, 75) else ""),
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": flavor.disabled,
        "vcpus": flavor.vcpus,
        "os-flavor-access:is_public": flavor.is_public,
        "rxtx_factor": flavor.rxtx_factor or "",
        "links": link(request, "flavors", flavor.flavorid),
    }
    if version >= (2, 55):
        view["description"] = flavor.description
    if extra_specs:
        view["extra_specs"] = dict(flavor.extra_specs or {})
    return view


def _show_specs(ctx: RequestContext, version: Version) -> bool:
    return version >= (2, 61) and ctx.allowed(SPECS % "index", {"project_id": ctx.project_id})


def _list(request: Request, ctx: RequestContext, deps: Deps, version: Version) -> list[Any]:
    params = request.query_params
    allowed = {"sort_key", "sort_dir", "limit", "marker", "minRam", "minDisk", "is_public"}
    if version >= (2, 75):
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise unexpected(unknown)
    # Non-admins see public flavors and those shared with their project.
    is_public: bool | None = True if ctx.is_admin else None
    if ctx.is_admin and "is_public" in params:
        raw = params["is_public"]
        is_public = None if raw.lower() == "none" else bool_param(raw, "is_public")
    filters: dict[str, Any] = {}
    for name, key in (("minRam", "min_ram"), ("minDisk", "min_disk")):
        if name in params:
            try:
                filters[key] = int(params[name])
            except ValueError:
                raise BadRequest(f"Invalid {name} filter [{params[name]}]") from None
    sort_key = params.get("sort_key") or "flavorid"
    column_map = {
        "id": "id",
        "flavorid": "flavorid",
        "name": "name",
        "memory_mb": "memory_mb",
        "vcpus": "vcpus",
        "root_gb": "root_gb",
        "ephemeral_gb": "ephemeral_gb",
        "swap": "swap",
        "rxtx_factor": "rxtx_factor",
        "description": "description",
        "created_at": "created_at",
        "is_public": "is_public",
        "disabled": "disabled",
    }
    if sort_key not in column_map:
        raise BadRequest(f"Invalid sort key: {sort_key}")
    sort_dir = params.get("sort_dir") or "asc"
    if sort_dir not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {sort_dir}")
    limit, marker = limit_and_marker(request, int(deps.opts.max_limit))
    viewer = flavors.Viewer(ctx.project_id, ctx.is_admin)
    try:
        return flavors.list_flavors(
            deps.db,
            viewer,
            is_public=is_public,
            sort_key=column_map[sort_key],
            sort_dir=sort_dir,
            limit=limit,
            marker=marker,
            **filters,
        )
    except BadRequest:
        raise BadRequest(f"marker [{marker}] not found") from None


@router.get("/flavors", openapi_extra=policies())
def list_flavors(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    rows = _list(request, ctx, deps, version)
    items = []
    for f in rows:
        item: dict[str, Any] = {
            "id": f.flavorid,
            "name": f.name,
            "links": link(request, "flavors", f.flavorid),
        }
        if version >= (2, 55):
            item["description"] = f.description
        items.append(item)
    body: dict[str, Any] = {"flavors": items}
    limit, _ = limit_and_marker(request, int(deps.opts.max_limit))
    if rows and len(rows) == limit:
        body["flavors_links"] = next_link(request, "flavors", rows[-1].flavorid)
    return json_response(body)


@router.get("/flavors/detail", openapi_extra=policies(SPECS % "index"))
def list_flavors_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    rows = _list(request, ctx, deps, version)
    specs = _show_specs(ctx, version)
    body: dict[str, Any] = {"flavors": [_view(request, f, version, specs) for f in rows]}
    limit, _ = limit_and_marker(request, int(deps.opts.max_limit))
    if rows and len(rows) == limit:
        body["flavors_links"] = next_link(request, "flavors/detail", rows[-1].flavorid)
    return json_response(body)


@router.get("/flavors/{flavor_id}", openapi_extra=policies(SPECS % "index"))
def show_flavor(
    request: Request, flavor_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    flavor = flavors.get(deps.db, flavor_id, flavors.Viewer(ctx.project_id, ctx.is_admin))
    return json_response({"flavor": _view(request, flavor, version, _show_specs(ctx, version))})


@router.post(
    "/flavors", openapi_extra=policies(MANAGE % "create") | request_model(FlavorCreateRequest)
)
def create_flavor(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    ctx.can(MANAGE % "create", {})
    data = body_part(body, "flavor")
    gate(data, version, {"description": (2, 55)})
    model = FlavorCreate.model_validate(data)
    spec = flavors.FlavorSpec(
        name=model.name,
        flavorid=model.id,
        vcpus=model.vcpus,
        memory_mb=model.ram,
        root_gb=model.disk,
        ephemeral_gb=model.ephemeral or 0,
        swap=model.swap or 0,
        rxtx_factor=model.rxtx_factor or 1.0,
        is_public=True if model.is_public is None else model.is_public,
        description=model.description,
    )
    flavor = flavors.create(deps.db, spec)
    return json_response({"flavor": _view(request, flavor, version, _show_specs(ctx, version))})


@router.put(
    "/flavors/{flavor_id}",
    openapi_extra=since("2.55") | policies(MANAGE % "update") | request_model(FlavorUpdateRequest),
)
def update_flavor(
    request: Request,
    flavor_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    if version < (2, 55):
        raise NotFound("The resource could not be found.")
    ctx.can(MANAGE % "update", {})
    data = body_part(body, "flavor")
    extra = sorted(set(data) - {"description"})
    if extra or "description" not in data:
        raise unexpected(extra) if extra else BadRequest("'description' is a required property")
    description = data["description"]
    if description is not None and (not isinstance(description, str) or len(description) > 65535):
        raise BadRequest("Invalid input for field/attribute description.")
    flavor = flavors.update_description(deps.db, flavor_id, description)
    return json_response({"flavor": _view(request, flavor, version, _show_specs(ctx, version))})


@router.delete("/flavors/{flavor_id}", status_code=202, openapi_extra=policies(MANAGE % "delete"))
def delete_flavor(flavor_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(MANAGE % "delete", {})
    flavors.destroy(deps.db, flavor_id)
    return Response(status_code=202)


# -- extra specs ------------------------------------------------------------------------------
def _specs_body(body: Any, key: str | None = None) -> dict[str, str]:
    data = body_part(body, "extra_specs") if key is None else body
    if not isinstance(data, dict):
        raise BadRequest("Malformed request body")
    if key is not None and (len(data) != 1 or key not in data):
        raise BadRequest("Request body and URI mismatch")
    for k, v in data.items():
        if not re.fullmatch(r"[\w.:-]{1,255}", k):
            raise BadRequest(f"Invalid input for field/attribute extra_specs. Key: {k!r}.")
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise BadRequest(f"Invalid input for field/attribute {k}. Value: {v!r}.")
        if len(str(v)) > 255:
            raise BadRequest(f"Invalid input for field/attribute {k}: value too long.")
    return {k: str(v) for k, v in data.items()}


@router.get("/flavors/{flavor_id}/os-extra_specs", openapi_extra=policies(SPECS % "index"))
def list_extra_specs(flavor_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(SPECS % "index", {"project_id": ctx.project_id})
    flavor = flavors.get(deps.db, flavor_id, flavors.Viewer(ctx.project_id, ctx.is_admin))
    return json_response({"extra_specs": dict(flavor.extra_specs or {})})


def _validate_specs(specs: dict[str, str], version: Version) -> None:
    if version >= (2, 86):
        for key, value in specs.items():
            extra_specs.validate(key, value)


@router.post(
    "/flavors/{flavor_id}/os-extra_specs",
    openapi_extra=policies(SPECS % "create") | request_model(ExtraSpecsRequest),
)
def create_extra_specs(
    flavor_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    ctx.can(SPECS % "create", {})
    specs = _specs_body(body)
    _validate_specs(specs, version)
    flavors.set_extra_specs(deps.db, flavor_id, specs)
    return json_response({"extra_specs": specs})


@router.get("/flavors/{flavor_id}/os-extra_specs/{key}", openapi_extra=policies(SPECS % "show"))
def show_extra_spec(flavor_id: str, key: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(SPECS % "show", {"project_id": ctx.project_id})
    flavor = flavors.get(deps.db, flavor_id, flavors.Viewer(ctx.project_id, ctx.is_admin))
    specs = flavor.extra_specs or {}
    if key not in specs:
        raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    return json_response({key: specs[key]})


@router.put(
    "/flavors/{flavor_id}/os-extra_specs/{key}",
    openapi_extra=policies(SPECS % "update") | request_model(ExtraSpecItemRequest),
)
def update_extra_spec(
    flavor_id: str,
    key: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    ctx.can(SPECS % "update", {})
    specs = _specs_body(body, key)
    _validate_specs(specs, version)
    flavors.set_extra_specs(deps.db, flavor_id, specs)
    return json_response(specs)


@router.delete(
    "/flavors/{flavor_id}/os-extra_specs/{key}",
    status_code=200,
    openapi_extra=policies(SPECS % "delete"),
)
def delete_extra_spec(flavor_id: str, key: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(SPECS % "delete", {})
    flavors.delete_extra_spec(deps.db, flavor_id, key)
    return Response(status_code=200)


# -- access -----------------------------------------------------------------------------------
def _access(deps: Deps, flavor_id: str) -> dict[str, Any]:
    return {
        "flavor_access": [
            {"flavor_id": f, "tenant_id": p} for f, p in flavors.access_list(deps.db, flavor_id)
        ]
    }


@router.get("/flavors/{flavor_id}/os-flavor-access", openapi_extra=policies(ACCESS))
def list_access(flavor_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    ctx.can(ACCESS, {"project_id": ctx.project_id})
    return json_response(_access(deps, flavor_id))


@router.post(
    "/flavors/{flavor_id}/action",
    openapi_extra=policies(ACCESS + ":add_tenant_access", ACCESS + ":remove_tenant_access")
    | request_model(FlavorActionRequest),
)
def flavor_action(
    flavor_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    if "addTenantAccess" in body:
        ctx.can(ACCESS + ":add_tenant_access", {})
        tenant = TenantBody.model_validate(body_part(body, "addTenantAccess")).tenant
        flavors.add_access(deps.db, flavor_id, tenant, check_public=version >= (2, 7))
    elif "removeTenantAccess" in body:
        ctx.can(ACCESS + ":remove_tenant_access", {})
        tenant = TenantBody.model_validate(body_part(body, "removeTenantAccess")).tenant
        flavors.remove_access(deps.db, flavor_id, tenant)
    else:
        raise BadRequest(f"There is no such action: {next(iter(body), '')}")
    return json_response(_access(deps, flavor_id))
