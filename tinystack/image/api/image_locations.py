"""Image locations (2.17) and deleting an image's data from one store (2.10); handlers only."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from tinystack.common.api.deps import ContextDep
from tinystack.common.exceptions import BadRequest
from tinystack.image.api.deps import DepsDep, JsonBody
from tinystack.image.services import image_locations


def get_locations(image_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    views = image_locations.get_locations(deps, ctx, image_id)
    return JSONResponse([{"url": v.url, "metadata": dict(v.metadata)} for v in views])


def add_location(image_id: str, ctx: ContextDep, deps: DepsDep, body: JsonBody) -> Response:
    if not isinstance(body, dict) or "url" not in body:
        raise BadRequest("Provided object does not match schema 'location': 'url' is required")
    validation = image_locations.check_validation_data(body.get("validation_data"))
    image_locations.add_location(deps, ctx, image_id, body["url"], validation)
    return Response(status_code=202)


def delete_from_store(store_id: str, image_id: str, ctx: ContextDep, deps: DepsDep) -> Response:
    image_locations.delete_from_store(deps, ctx, store_id, image_id)
    return Response(status_code=204)
