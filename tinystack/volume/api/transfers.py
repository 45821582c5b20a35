"""Volume transfers: the legacy ``/os-volume-transfer`` and ``/volume-transfers``
(``no_snapshots`` from 3.55, the source/destination projects from 3.57, marker/limit
and sort from 3.59). Both render links under ``os-volume-transfer``, as upstream."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body
from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.openapi import policies, request_model
from tinystack.common.auth.context import RequestContext
from tinystack.volume.api import listing
from tinystack.volume.api.deps import ContextDep, DepsDep, VersionDep, url_project
from tinystack.volume.api.microversion import Version
from tinystack.volume.api.rendering import json_response, links
from tinystack.volume.api.transfer_schemas import (
    AcceptBody,
    TransferCreateBody,
    TransferCreateV355Body,
)
from tinystack.volume.services import transfers
from tinystack.volume.services.deps import Deps
from tinystack.volume.services.listing import ListQuery
from tinystack.volume.services.transfers import TransferRecord

router = APIRouter(tags=["volume transfers"])

COLLECTION = "os-volume-transfer"
LIST = "volume:get_all_transfers"
CREATE = "volume:create_transfer"
GET = "volume:get_transfer"
ACCEPT = "volume:accept_transfer"
DELETE = "volume:delete_transfer"


def _links(request: Request, transfer_id: str) -> list[Any]:
    return links(request, url_project(request), COLLECTION, transfer_id)


def summary(request: Request, transfer: TransferRecord) -> dict[str, Any]:
    return {
        "id": transfer.id,
        "volume_id": transfer.volume_id,
        "name": transfer.name,
        "links": _links(request, transfer.id),
    }


def detail(
    request: Request, transfer: TransferRecord, version: Version, new: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": transfer.id,
        "created_at": transfer.created_at,
        "name": transfer.name,
        "volume_id": transfer.volume_id,
    }
    if new:
        body["auth_key"] = transfer.auth_key
    body["links"] = _links(request, transfer.id)
    if version.matches("3.55"):
        body["no_snapshots"] = transfer.no_snapshots
    if version.matches("3.57"):
        body["destination_project_id"] = transfer.destination_project_id
        body["source_project_id"] = transfer.source_project_id
        body["accepted"] = transfer.accepted
    return body


def _query(
    request: Request, ctx: RequestContext, version: Version, deps: Deps, paged: bool
) -> ListQuery:
    found = listing.parse(request, ctx, version, "transfer", deps.opts.max_limit)
    if paged:
        return found
    # before 3.59: oldest first, no marker; offset and limit slice the list
    return ListQuery(
        filters=found.filters,
        sort=(("created_at", "asc"), ("id", "asc")),
        limit=found.limit,
        offset=found.offset,
        all_tenants=found.all_tenants,
    )


def _list(
    request: Request, ctx: RequestContext, deps: Deps, version: Version, *, full: bool, paged: bool
) -> Response:
    wanted = _query(request, ctx, version, deps, paged)
    found = transfers.list_transfers(deps.db, ctx, wanted)
    items = [detail(request, t, version) if full else summary(request, t) for t in found]
    return json_response({"transfers": items})


def _create(
    request: Request, ctx: RequestContext, deps: Deps, version: Version, body: Any, legacy: bool
) -> Response:
    no_snapshots = False
    if legacy or not version.matches("3.55"):
        req = TransferCreateBody.model_validate(body).transfer
    else:
        v355 = TransferCreateV355Body.model_validate(body).transfer
        req, no_snapshots = v355, v355.no_snapshots
    name = req.name.strip() if req.name is not None else None
    created = transfers.create(
        deps.db, ctx, req.volume_id, name, no_snapshots=no_snapshots,
        allow_encrypted=not legacy and version.matches("3.70"),
    )  # fmt: skip
    return json_response({"transfer": detail(request, created, version, new=True)}, status=202)


def _accept(
    request: Request, ctx: RequestContext, deps: Deps, transfer_id: str, body: AcceptBody
) -> Response:
    done = transfers.accept(deps.db, deps.opts, ctx, transfer_id, body.accept.auth_key)
    return json_response({"transfer": summary(request, done)}, status=202)


def _routes(prefix: str, legacy: bool) -> None:
    """The six routes of one of the two transfer APIs."""

    @router.get(prefix, openapi_extra=policies(LIST), name=f"list{prefix}")
    def list_transfers(
        request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
    ) -> Response:
        paged = not legacy and version.matches("3.59")
        return _list(request, ctx, deps, version, full=False, paged=paged)

    @router.get(prefix + "/detail", openapi_extra=policies(LIST), name=f"detail{prefix}")
    def list_transfers_detail(
        request: Request, ctx: ContextDep, deps: DepsDep, version: VersionDep
    ) -> Response:
        paged = not legacy and version.matches("3.59")
        return _list(request, ctx, deps, version, full=True, paged=paged)

    model = TransferCreateBody if legacy else TransferCreateV355Body

    @router.post(
        prefix,
        status_code=202,
        openapi_extra={**policies(CREATE), **request_model(model)},
        name=f"create{prefix}",
    )
    def create_transfer(
        request: Request,
        ctx: ContextDep,
        deps: DepsDep,
        version: VersionDep,
        body: Any = Body(...),
    ) -> Response:
        return _create(request, ctx, deps, version, body, legacy)

    @router.get(prefix + "/{transfer_id}", openapi_extra=policies(GET), name=f"show{prefix}")
    def show_transfer(
        request: Request, transfer_id: str, ctx: ContextDep, deps: DepsDep, version: VersionDep
    ) -> Response:
        found = transfers.get(deps.db, ctx, transfer_id)
        return json_response({"transfer": detail(request, found, version)})

    @router.delete(
        prefix + "/{transfer_id}", status_code=202, openapi_extra=policies(DELETE),
        name=f"delete{prefix}",
    )  # fmt: skip
    def delete_transfer(transfer_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
        transfers.delete(deps.db, ctx, transfer_id)
        return Response(status_code=202)

    @router.post(
        prefix + "/{transfer_id}/accept",
        status_code=202,
        openapi_extra={**policies(ACCEPT), **request_model(AcceptBody)},
        name=f"accept{prefix}",
    )
    def accept_transfer(
        request: Request, transfer_id: str, body: AcceptBody, ctx: ContextDep, deps: DepsDep
    ) -> Response:
        return _accept(request, ctx, deps, transfer_id, body)


_routes("/os-volume-transfer", legacy=True)
_routes("/volume-transfers", legacy=False)
