"""``/v2.0/metering/metering-labels``: metering labels (no update, as upstream)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tinystack.common.api.deps import ContextDep
from tinystack.network.api.bodies import JsonBody, unwrap, validate
from tinystack.network.api.deps import DepsDep
from tinystack.network.api.enforcement import authorize_create, make_check, on_view
from tinystack.network.api.list_params import fields_of, list_params, max_limit
from tinystack.network.api.rendering import render_list, render_one
from tinystack.network.api.resource import Resource
from tinystack.network.api.schemas import MeteringLabelCreate, owner
from tinystack.network.api.views import owner as owner_view
from tinystack.network.services.metering_labels import MeteringLabelSpec
from tinystack.network.services.records import MeteringLabelRecord

METERING_LABEL = Resource(
    singular="metering_label",
    plural="metering_labels",
    path="metering/metering-labels",
    filters=frozenset("id name description project_id tenant_id shared".split()),
    sort_keys=frozenset("id name project_id tenant_id".split()),
    defaults={"name": "", "description": "", "shared": False},
)


def metering_label_view(label: MeteringLabelRecord) -> dict[str, Any]:
    return {
        "id": label.id,
        "name": label.name,
        "description": label.description,
        "shared": label.shared,
        **owner_view(label.project_id),
    }


def list_metering_labels(request: Request, ctx: ContextDep, deps: DepsDep) -> Response:
    params = list_params(request, METERING_LABEL, max_limit(deps))
    labels = deps.metering_labels.list_items(ctx, params.query)
    items = [metering_label_view(label) for label in labels]
    return render_list(request, ctx, METERING_LABEL, items, params)


def create_metering_label(ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    item = unwrap(body, METERING_LABEL, bulk=False)[0][0]
    values = owner(validate(MeteringLabelCreate, item))
    authorize_create(ctx, METERING_LABEL, [values])
    spec = MeteringLabelSpec(
        project_id=values.get("project_id"),
        name=values.get("name") or "",
        description=values.get("description") or "",
        shared=bool(values.get("shared")),
    )
    created = metering_label_view(deps.metering_labels.create(ctx, spec))
    return render_one(ctx, METERING_LABEL, created, 201, hide_missing=False)


def show_metering_label(
    metering_label_id: str, request: Request, ctx: ContextDep, deps: DepsDep
) -> Response:
    item = metering_label_view(deps.metering_labels.show(ctx, metering_label_id))
    return render_one(ctx, METERING_LABEL, item, fields=fields_of(request))


def delete_metering_label(metering_label_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    check = on_view(make_check(ctx, METERING_LABEL, "delete", {}), metering_label_view)
    deps.metering_labels.delete(ctx, metering_label_id, check)
    return Response(status_code=204)
