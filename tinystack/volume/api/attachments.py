"""``/attachments`` (3.27+): create (reserve, or reserve and connect), update (connect),
``os-complete`` (3.44), delete, list, detail and show — upstream's attachments API,
which compute drives to attach volumes to servers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies, request_model
from tinystack.volume.api import attach_actions, query, schemas
from tinystack.volume.api.deps import ContextDep, DepsDep, VersionDep
from tinystack.volume.api.rendering import cinder_time, json_response
from tinystack.volume.services import attachments
from tinystack.volume.services.records import AttachmentRecord

router = APIRouter(tags=["attachments"])
#: the attach actions of ``POST /volumes/{id}/action`` register when imported
__all__ = ["attach_actions", "router"]

ATTACH = since("3.27")
COMPLETE = since("3.44")


def summary(att: AttachmentRecord) -> dict[str, Any]:
    return {
        "id": att.id,
        "status": att.attach_status,
        "instance": att.instance_uuid,
        "volume_id": att.volume_id,
    }


def detail(att: AttachmentRecord) -> dict[str, Any]:
    return {
        **summary(att),
        "attached_at": cinder_time(att.attach_time) or "",
        "detached_at": cinder_time(att.detach_time) or "",
        "attach_mode": att.attach_mode,
        "connection_info": att.connection_info or {},
    }


def _query(request: Request, ctx: ContextDep, max_limit: int) -> attachments.AttachmentQuery:
    params = request.query_params
    paging = query.page(request, max_limit)
    return attachments.AttachmentQuery(
        all_projects=ctx.is_admin and "all_tenants" in params,
        volume_id=params.get("volume_id"),
        instance_id=params.get("instance_id"),
        status=params.get("status") or params.get("attach_status"),
        sort=query.sort(request),
        marker=paging.marker,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.get("/attachments", openapi_extra={**policies(), **ATTACH})
def list_attachments(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    found = attachments.list_attachments(deps, ctx, _query(request, ctx, deps.opts.max_limit))
    return json_response({"attachments": [summary(a) for a in found]})


@router.get("/attachments/detail", openapi_extra={**policies(), **ATTACH})
def list_attachments_detail(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    found = attachments.list_attachments(deps, ctx, _query(request, ctx, deps.opts.max_limit))
    return json_response({"attachments": [detail(a) for a in found]})


@router.get("/attachments/{attachment_id}", openapi_extra={**policies(), **ATTACH})
def show_attachment(attachment_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    return json_response({"attachment": detail(attachments.get(deps, ctx, attachment_id))})


@router.post(
    "/attachments",
    openapi_extra={
        **policies(attachments.CREATE, attachments.MULTIATTACH_BOOTABLE),
        **request_model(schemas.AttachmentCreateRequest),
        **ATTACH,
    },
)
def create_attachment(
    ctx: ContextDep, deps: DepsDep, version: VersionDep, body: Any = Body(None)
) -> Response:
    req = schemas.attachment_create(body, with_mode=version >= (3, 54))
    att = attachments.create(deps, ctx, req.volume_uuid, req.instance_uuid, req.connector, req.mode)
    return json_response({"attachment": detail(att)})


@router.put(
    "/attachments/{attachment_id}",
    openapi_extra={
        **policies(attachments.UPDATE),
        **request_model(schemas.AttachmentUpdateRequest),
        **ATTACH,
    },
)
def update_attachment(
    attachment_id: str, ctx: ContextDep, deps: DepsDep, body: Any = Body(None)
) -> Response:
    req = schemas.attachment_update(body)
    att = attachments.update(deps, ctx, attachment_id, req.connector)
    return json_response({"attachment": detail(att)})


@router.delete(
    "/attachments/{attachment_id}", openapi_extra={**policies(attachments.DELETE), **ATTACH}
)
def delete_attachment(attachment_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    remaining = attachments.delete(deps, ctx, attachment_id)
    return json_response({"attachments": [summary(a) for a in remaining]})


@router.post(
    "/attachments/{attachment_id}/action",
    openapi_extra={
        **policies(attachments.COMPLETE),
        **request_model(schemas.AttachmentActionRequest),
        **COMPLETE,
    },
)
def attachment_action(
    attachment_id: str, ctx: ContextDep, deps: DepsDep, body: Any = Body(None)
) -> Response:
    schemas.attachment_action(body)
    attachments.complete(deps, ctx, attachment_id)
    return Response(status_code=204)
