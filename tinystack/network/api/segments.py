"""``/v2.0/segments``: network segments (the ``segment`` extension; admin-only by default).

A caller who may not ``get_segment`` sees an empty list, and 404 for a segment's show,
update and delete, as upstream answers them; one who may see it but not change it, 403.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.auth.context import RequestContext
from tinystack.common.timeutils import isotime
from tinystack.network.api.bodies import JsonBody, check_uuids, revision, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import Enforcement, authorize_create, make_check
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import SegmentCreate, SegmentUpdate, owner
from tinystack.network.exception import not_found
from tinystack.network.services.authz import Check
from tinystack.network.services.records import SegmentRecord
from tinystack.network.services.segments import SegmentChanges, SegmentSpec

SEGMENT = Resource(
    singular="segment",
    plural="segments",
    filters=frozenset(
        """
            id network_id name description network_type physical_network segmentation_id
            revision_number
            """.split()
    ),
    sort_keys=frozenset("id network_id name network_type physical_network segmentation_id".split()),
    defaults={"physical_network": None, "segmentation_id": None, "name": None, "tags": []},
)
_CHANGES = ("name", "description")


def segment_view(segment: SegmentRecord) -> dict[str, Any]:
    return {
        "id": segment.id,
        "network_id": segment.network_id,
        "name": segment.name,
        "description": segment.description,
        "network_type": segment.network_type,
        "physical_network": segment.physical_network,
        "segmentation_id": segment.segmentation_id,
        "created_at": isotime(segment.created_at),
        "updated_at": isotime(segment.updated_at),
        "revision_number": segment.revision_number,
        "tags": list(segment.tags),
    }


def _check(
    ctx: RequestContext, segment_id: str, action: str, values: dict[str, Any]
) -> Check[SegmentRecord]:
    """``<action>_segment`` on the segment; 404 when the caller may not even see it."""
    base = make_check(ctx, SEGMENT, action, values)
    enf = Enforcement(ctx)

    def check(record: SegmentRecord) -> None:
        view = segment_view(record)
        if not enf.allowed("get_segment", view):
            raise not_found("segment", segment_id)
        base(view)

    return check


def list_segments(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, SEGMENT, max_limit(deps))
    items = [segment_view(s) for s in deps.segments.list_items(ctx, params.query)]
    return render_list(request, ctx, SEGMENT, items, params)


def create_segment(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    item = unwrap(body, SEGMENT, bulk=False)[0][0]
    values = owner(validate(SegmentCreate, item))
    check_uuids("network_id", values["network_id"])
    authorize_create(ctx, SEGMENT, [values])
    spec = SegmentSpec(
        network_id=values["network_id"],
        network_type=values["network_type"],
        physical_network=values.get("physical_network"),
        segmentation_id=values.get("segmentation_id"),
        name=values.get("name"),
        description=values.get("description"),
        tags=tuple(values.get("tags") or ()),
    )
    created = segment_view(deps.segments.create(ctx, spec))
    return render_one(ctx, SEGMENT, created, 201, hide_missing=False)


def show_segment(segment_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    item = segment_view(deps.segments.show(ctx, segment_id))
    return render_one(ctx, SEGMENT, item, fields=fields_of(request))


def update_segment(
    segment_id: str, request: Request, ctx: ContextDep, deps: DepsDep, body: JsonBody
) -> Response:
    values = validate(SegmentUpdate, unwrap(body, SEGMENT, bulk=False)[0][0])
    changes = SegmentChanges(
        name=values.get("name"),
        description=values.get("description"),
        given=frozenset(k for k in _CHANGES if k in values),
    )
    check = _check(ctx, segment_id, "update", values)
    updated = deps.segments.update(ctx, segment_id, changes, check, revision(request))
    return render_one(ctx, SEGMENT, segment_view(updated), hide_missing=False)


def delete_segment(segment_id: str, request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    check = _check(ctx, segment_id, "delete", {})
    deps.segments.delete(ctx, segment_id, check, revision(request))
    return Response(status_code=204)
