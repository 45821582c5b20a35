"""``/messages`` (3.3): the project's user messages: list, show, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.microversion import since
from tinystack.common.api.openapi import policies
from tinystack.common.auth.context import RequestContext
from tinystack.volume.api import query, views
from tinystack.volume.api.deps import ContextDep, DepsDep, VersionDep, url_project
from tinystack.volume.api.rendering import json_response, next_link
from tinystack.volume.services import messages

router = APIRouter(tags=["messages"])
GET_ALL = "message:get_all"
GET = "message:get"
DELETE = "message:delete"


def _project(ctx: RequestContext) -> str | None:
    """Admins see every project's messages, others their own."""
    return None if ctx.is_admin else ctx.project_id


@router.get("/messages", openapi_extra=since("3.3") | policies(GET_ALL))
def list_messages(
    request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
) -> Response:
    ctx.can(GET_ALL, {"project_id": ctx.project_id})
    paging = version >= (3, 5)
    page = query.page(request, int(deps.opts.max_limit)) if paging else None
    filters = {k: v for k, v in query.remaining(request).items() if k != "all_tenants"}
    found = messages.list_messages(
        deps.db,
        _project(ctx),
        filters=filters,
        sort=query.sort(request) if paging else [("created_at", "desc")],
        limit=page.limit if page else None,
        marker=page.marker if page else None,
        offset=page.offset if page else 0,
    )
    body: dict[str, Any] = {"messages": [views.message(request, m) for m in found]}
    if page is not None and found and len(found) >= page.limit:
        body["messages_links"] = next_link(request, url_project(request), "messages", found[-1].id)
    return json_response(body)


@router.get("/messages/{message_id}", openapi_extra=since("3.3") | policies(GET))
def show_message(request: Request, message_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    found = messages.get(deps.db, message_id, _project(ctx))
    ctx.can(GET, {"project_id": found.project_id})
    return json_response({"message": views.message(request, found)})


@router.delete(
    "/messages/{message_id}", status_code=204, openapi_extra=since("3.3") | policies(DELETE)
)
def delete_message(message_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    found = messages.get(deps.db, message_id, _project(ctx))
    ctx.can(DELETE, {"project_id": found.project_id})
    messages.destroy(deps.db, message_id, _project(ctx))
    return Response(status_code=204)
