"""``/volumes``: create, list, detail, summary (3.12), show, update, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.common.exceptions import BadRequest
from tinystack.common.timeutils import parse_isotime
from tinystack.volume.api import query, schemas, views
from tinystack.volume.api.deps import ContextDep, DepsDep, Version, VersionDep, url_project
from tinystack.volume.api.rendering import json_response, next_link
from tinystack.volume.services import image_refs, volume_list, volumes
from tinystack.volume.services.deps import Deps

router = APIRouter(tags=["volumes"])

CREATE = "volume:create"
CREATE_FROM_IMAGE = "volume:create_from_image"
MULTIATTACH = "volume:multiattach"
GET = "volume:get"
GET_ALL = "volume:get_all"
UPDATE = "volume:update"
DELETE = "volume:delete"
FORCE_DELETE = "volume:force_delete"
VIEW_RULES = (views.HOST_ATTR, views.TENANT_ATTR, views.MIG_ATTR, views.IMAGE_META)

#: filters anyone may use (upstream's resource_filters for volumes)
USER_FILTERS = {
    "name", "status", "metadata", "bootable", "migration_status", "availability_zone",
    "group_id", "size", "created_at", "updated_at", "glance_metadata", "volume_type",
}  # fmt: skip
#: filters that exist from a microversion on
FILTER_VERSIONS = {"glance_metadata": (3, 4), "group_id": (3, 10), "created_at": (3, 60),
                   "updated_at": (3, 60)}  # fmt: skip
NO_MULTIATTACH = (
    "multiattach parameter has been removed. The default behavior is to use multiattach "
    "enabled volume types. Contact your administrator to create a multiattach enabled "
    "volume type and use it to create multiattach volumes."
)


# -- list -------------------------------------------------------------------------------------
def _times(value: str, name: str) -> list[tuple[str, Any]]:
    found = []
    for unit in value.split(","):
        op, sep, when = unit.partition(":")
        if not sep or op not in volume_list.TIME_OPERATORS:
            raise BadRequest(f"Invalid {op} operator" if sep else f"Invalid {name} value")
        try:
            found.append((op, parse_isotime(when).replace(tzinfo=None)))
        except ValueError:
            raise BadRequest(f"Invalid {when} value") from None
    return found


def _volume_query(
    request: Request, ctx: RequestContext, version: Version, deps: Deps
) -> volume_list.VolumeQuery:
    filters = query.remaining(request)
    project: str | None = ctx.project_id
    if ctx.is_admin and query.flag(filters.pop("all_tenants", None), "all_tenants", strict=False):
        project = filters.pop("project_id", None)
    elif ctx.is_admin and "project_id" in filters:
        project = filters.pop("project_id")
    filters.pop("all_tenants", None)
    if not ctx.is_admin:
        filters = {k: v for k, v in filters.items() if k.rstrip("~") in USER_FILTERS}
    for key, first in FILTER_VERSIONS.items():
        if version < first:
            filters.pop(key, None)
    kwargs: dict[str, Any] = {"columns": {}, "metadata": {}, "image_metadata": {}, "times": {}}
    for key, value in filters.items():
        if key == "name":
            kwargs["name"] = value
        elif key == "name~" and version >= (3, 34):
            kwargs["name_like"] = value
        elif key == "metadata":
            kwargs["metadata"] = query.mapping(value, key)
        elif key == "glance_metadata":
            kwargs["image_metadata"] = query.mapping(value, key)
        elif key == "bootable":
            kwargs["bootable"] = query.flag(value, key, strict=version >= (3, 2))
        elif key == "volume_type":
            kwargs["volume_type"] = value
        elif key in ("created_at", "updated_at"):
            kwargs["times"][key] = _times(value, key)
        elif key in volume_list.COLUMN_FILTERS:
            kwargs["columns"][key] = value
    paging = query.page(request, int(deps.opts.max_limit))
    sort = [("name" if k == "display_name" else k, d) for k, d in query.sort(request)]
    return volume_list.VolumeQuery(
        project_id=project,
        sort=sort,
        limit=paging.limit,
        marker=paging.marker,
        offset=paging.offset,
        **kwargs,
    )


def _listing(
    request: Request, ctx: RequestContext, deps: Deps, version: Version, detail: bool
) -> Response:
    ctx.can(GET_ALL, {"project_id": ctx.project_id})
    q = _volume_query(request, ctx, version, deps)
    with_count = version >= (3, 45) and query.flag(
        request.query_params.get("with_count"), "with_count"
    )
    found, total = volume_list.list_volumes(deps.db, q, count=with_count)
    items = [
        views.volume_detail(request, ctx, v, version)
        if detail
        else views.volume_summary(request, v)
        for v in found
    ]
    body: dict[str, Any] = {"volumes": items}
    if found and q.limit is not None and len(found) >= q.limit:
        collection = "volumes/detail" if detail else "volumes"
        body["volumes_links"] = next_link(request, url_project(request), collection, found[-1].id)
    if total is not None:
        body["count"] = total
    return json_response(body)


@router.get("/volumes", openapi_extra=policies(GET_ALL))
def list_volumes(request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep) -> Response:
    return _listing(request, ctx, deps, version, detail=False)


@router.get("/volumes/detail", openapi_extra=policies(GET_ALL, *VIEW_RULES))
def list_volumes_detail(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    return _listing(request, ctx, deps, version, detail=True)


@router.get("/volumes/summary", openapi_extra=since("3.12") | policies(GET_ALL))
def volume_summary(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(GET_ALL, {"project_id": ctx.project_id})
    q = _volume_query(request, ctx, version, deps)
    found = volume_list.summary(deps.db, volume_list.VolumeQuery(
        project_id=q.project_id, name=q.name, columns=q.columns, metadata=q.metadata,
        bootable=q.bootable, volume_type=q.volume_type,
    ))  # fmt: skip
    body: dict[str, Any] = {"total_count": found.total_count, "total_size": found.total_size}
    if version >= (3, 36):
        body["metadata"] = found.metadata
    return json_response({"volume-summary": body})


# -- show -------------------------------------------------------------------------------------
@router.get("/volumes/{volume_id}", openapi_extra=policies(GET, *VIEW_RULES))
def show_volume(
    request: Request, volume_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    volume = volumes.get(deps.db, ctx, volume_id, GET)
    return json_response({"volume": views.volume_detail(request, ctx, volume, version)})


# -- create -----------------------------------------------------------------------------------
def _name(data: dict[str, Any], key: str, legacy: str) -> str | None:
    value = data.get(key, data.get(legacy))
    value = schemas.text(value, key)
    return value.strip() if isinstance(value, str) else value


def _create_request(deps: Deps, ctx: RequestContext, data: dict[str, Any]) -> volumes.VolumeCreate:
    size = data.get("size")
    metadata = data.get("metadata")
    image_ref = data.get("imageRef", data.get("image_id"))
    image = None
    if image_ref:
        ctx.can(CREATE_FROM_IMAGE, {"project_id": ctx.project_id})
        image = image_refs.resolve(deps, str(image_ref), ctx.token)
        if size is None:
            image_gb = -(-max(image.size_bytes, image.virtual_size or 0) // 1024**3)
            size = max(image_gb, image.min_disk, 1)
    for key in ("snapshot_id", "source_volid", "backup_id", "group_id", "consistencygroup_id",
                "volume_type", "availability_zone"):  # fmt: skip
        schemas.text(data.get(key), key)
    return volumes.VolumeCreate(
        size=schemas.volume_size(size) if size is not None else None,
        name=_name(data, "name", "display_name"),
        description=_name(data, "description", "display_description"),
        volume_type=data.get("volume_type") or None,
        availability_zone=data.get("availability_zone"),
        metadata=schemas.key_values(metadata, "metadata") if metadata is not None else {},
        snapshot_id=data.get("snapshot_id"),
        source_volid=data.get("source_volid"),
        backup_id=data.get("backup_id"),
        group_id=data.get("group_id"),
        consistencygroup_id=data.get("consistencygroup_id"),
        image=image,
    )


@router.post(
    "/volumes",
    status_code=202,
    openapi_extra=policies(CREATE, CREATE_FROM_IMAGE, MULTIATTACH)
    | request_model(schemas.VolumeCreateRequest),
)
def create_volume(
    request: Request,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    ctx.can(CREATE, {"project_id": ctx.project_id})
    data = schemas.part(body, "volume")
    extra = sorted(set(body) - {"volume", "OS-SCH-HNT:scheduler_hints"})
    if extra:
        raise schemas.unexpected(extra)
    known = set(schemas.VolumeCreate.model_fields)
    if version < (3, 13):
        data.pop("group_id", None)
    if version < (3, 47):
        data.pop("backup_id", None)
    if version >= (3, 53):
        unknown = sorted(set(data) - known)
        if unknown:
            raise schemas.unexpected(unknown)
    if "multiattach" in data and data["multiattach"] is not None:
        if schemas.boolean(data["multiattach"], "multiattach"):
            raise BadRequest(NO_MULTIATTACH)
    req = _create_request(deps, ctx, data)
    volume = volumes.create(deps, ctx, req)
    view = views.volume_detail(request, ctx, volume, version, extended=False)
    return json_response({"volume": view}, 202)


# -- update and delete ------------------------------------------------------------------------
@router.put(
    "/volumes/{volume_id}",
    openapi_extra=policies(UPDATE) | request_model(schemas.VolumeUpdateRequest),
)
def update_volume(
    request: Request,
    volume_id: str,
    ctx: ContextDep,
    deps: DepsDep,
    version: VersionDep,
    body: dict[str, Any] = Body(...),
) -> Response:
    data = schemas.part(body, "volume")
    extra = sorted(set(body) - {"volume"})
    unknown = sorted(set(data) - set(schemas.VolumeUpdate.model_fields))
    if extra or unknown:
        raise schemas.unexpected(extra + unknown)
    if version >= (3, 53) and not data:
        raise BadRequest("Invalid input for field/attribute volume. At least one field needed.")
    set_name = "name" in data or "display_name" in data
    set_description = "description" in data or "display_description" in data
    metadata = data.get("metadata")
    changes = volumes.VolumeUpdate(
        name=_name(data, "name", "display_name"),
        description=_name(data, "description", "display_description"),
        metadata=schemas.key_values(metadata, "metadata") if metadata is not None else None,
        set_name=set_name,
        set_description=set_description,
    )
    volume = volumes.update(deps.db, ctx, volume_id, changes, UPDATE)
    view = views.volume_detail(request, ctx, volume, version, extended=False)
    return json_response({"volume": view})


@router.delete(
    "/volumes/{volume_id}", status_code=202, openapi_extra=policies(DELETE, FORCE_DELETE)
)
def delete_volume(
    request: Request, volume_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    params = request.query_params
    cascade = query.flag(params.get("cascade"), "cascade")
    force = version >= (3, 23) and query.flag(params.get("force"), "force")
    volumes.delete(
        deps, ctx, volume_id, DELETE, cascade=cascade, force=force, force_rule=FORCE_DELETE
    )
    return Response(status_code=202)
